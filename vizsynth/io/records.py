"""Reading frame records back as typed FrameRecords, one at a time, in frame order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from vizsynth.frame_record import FrameRecord, parse_record
from vizsynth.io.files import record_path


def read_record(out_dir: Path, index: int) -> FrameRecord:
    """The record of frame ``index`` of the dataset at ``out_dir``.

    Raises:
        OSError: the record file cannot be read (FileNotFoundError: the frame was not written).
        RecordError: it is not a valid frame record.
    """
    path = record_path(out_dir, index)
    return parse_record(path.read_bytes(), path.parent, str(path))


def iter_records(out_dir: Path, indices: Iterable[int]) -> Iterator[tuple[int, FrameRecord]]:
    """Yields (index, record) for each index, reading each record file when it is reached.

    Raises:
        OSError, RecordError: as read_record.
    """
    for index in indices:
        yield index, read_record(out_dir, index)
