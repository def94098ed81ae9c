"""Reading frame records back, one at a time, in frame order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from vizsynth.io.files import record_path


def iter_records(out_dir: Path, indices: Iterable[int]) -> Iterator[tuple[int, dict]]:
    """Yields (index, record) for each index, reading each record file when it is reached."""
    for index in indices:
        yield index, json.loads(record_path(out_dir, index).read_text())
