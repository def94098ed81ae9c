"""Tracks of sequences in the label formats: COCO video fields (TAO / YouTube-VIS style) and
MOT-Challenge ``gt.txt``, all read from the frame records' ``sequence`` block.

A track is one object over its sequence: its instance id is the same in every frame. In COCO,
``track_id`` must be unique over the whole file, so it is ``sequence * 65536 + instance_id``
(instance ids are < 65536); ``instance_id`` stays the per-sequence id. MOT's ids are per
sequence: there the id is the instance id.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vizsynth.errors import ConfigError
from vizsynth.frame_record import FrameRecord, ObjectRecord
from vizsynth.io.files import write_bytes_atomic
from vizsynth.io.records import iter_records

TRACKS_PER_SEQUENCE = 65536


def video_id(sequence: int) -> int:
    """COCO video id of sequence s (ids start at 1)."""
    return sequence + 1


def coco_video(record: FrameRecord) -> dict | None:
    """The COCO ``videos[]`` entry of a record's sequence, or None for a single frame."""
    seq, camera = record.scene.sequence, record.scene.camera
    if seq is None:
        return None
    return {"id": video_id(seq.sequence), "name": f"{seq.sequence:08d}", "width": camera.width,
            "height": camera.height, "length": seq.frames, "fps": seq.fps}


def coco_image_fields(record: FrameRecord) -> dict:
    """``video_id`` and ``frame_id`` (t, from 0) of a sequence frame's COCO image; {} for a single frame."""
    seq = record.scene.sequence
    return {} if seq is None else {"video_id": video_id(seq.sequence), "frame_id": seq.t}


def coco_annotation_fields(record: FrameRecord, ann: ObjectRecord) -> dict:
    """``track_id`` (unique in the file) of a sequence frame's COCO annotation; {} for a single frame."""
    seq = record.scene.sequence
    return {} if seq is None else {"track_id": seq.sequence * TRACKS_PER_SEQUENCE + ann.instance_id}


def check_mot_config(config, catalog) -> None:
    """Refuses, before anything is rendered, MOT labels without sequences or without amodal boxes.

    Raises:
        ConfigError: naming what is missing.
    """
    if not config.sequence.enabled:
        raise ConfigError("output.formats: 'mot' needs sequences (sequence.frames_per_sequence > 1)")
    if not config.annotate.amodal:
        raise ConfigError("output.formats: 'mot' needs annotate.amodal: true (MOT boxes cover the whole "
                          "object, occluded parts too, with its visibility)")


def mot_lines(record: FrameRecord, include_hidden: bool = False) -> list[str]:
    """MOT-Challenge gt.txt lines of one frame: ``frame, id, left, top, width, height, 1, class,
    visibility`` with frame = t + 1 (MOT counts from 1), id = instance id, the amodal box (may reach
    outside the image, as MOT's do), class = category id. Objects wholly outside the image (no
    amodal pixel in it) and distractors (not in the annotations) get no line; hidden ones
    (visibility 0) only with ``include_hidden``."""
    frame = record.scene.sequence.t + 1
    lines = []
    for ann in record.info.annotations:
        if not ann.amodal_area or (ann.area == 0 and not include_hidden):
            continue
        x, y, w, h = ann.amodal_bbox
        lines.append(f"{frame},{ann.instance_id},{x:g},{y:g},{w:g},{h:g},1,{ann.category_id},{ann.visibility:.6f}")
    return lines


def write_mot(out_dir: Path, indices: Iterable[int]) -> int:
    """Writes ``mot/{sequence:08d}/gt/gt.txt`` and ``seqinfo.ini`` per sequence; returns lines written."""
    out_dir = Path(out_dir)
    sequences: dict[int, list[str]] = {}
    last: dict[int, FrameRecord] = {}
    for _, record in iter_records(out_dir, indices):
        s = record.scene.sequence.sequence
        sequences.setdefault(s, []).extend(mot_lines(record))
        last[s] = record
    for s, lines in sequences.items():
        folder = out_dir / "mot" / f"{s:08d}"
        # MOT sorts by frame, then id: frames arrive in order, ids within a frame in instance order.
        write_bytes_atomic(folder / "gt" / "gt.txt", "".join(f"{line}\n" for line in lines).encode())
        seq, camera = last[s].scene.sequence, last[s].scene.camera
        ini = (f"[Sequence]\nname={s:08d}\nframeRate={seq.fps:g}\nseqLength={seq.frames}\n"
               f"imWidth={camera.width}\nimHeight={camera.height}\nimExt={Path(last[s].info.image_file).suffix}\n")
        write_bytes_atomic(folder / "seqinfo.ini", ini.encode())
    return sum(len(lines) for lines in sequences.values())
