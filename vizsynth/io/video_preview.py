"""Video preview of one sequence: image | forward flow colour | tracks, frame by frame, as GIF or MP4.

Read back from the written files (records, images, ``.flo``), like the still preview. The flow is
colour-coded with the Middlebury wheel (``vizsynth.io.flow.flow_colours``: hue = direction,
saturation = length over the sequence's largest valid flow, black = not valid; the last frame has
no forward flow). Tracks: each object's visible box, its instance id (its MOT id) and the path of
its box centre so far, in one colour per id. GIFs are written with Pillow, MP4 with OpenCV's
``VideoWriter`` (mp4v), so neither needs another dependency.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
import yaml

from vizsynth.errors import OutputError, RecordError
from vizsynth.frame_record import FrameRecord
from vizsynth.imagefiles import read_image
from vizsynth.io.files import TMP_PREFIX, record_path, write_bytes_atomic
from vizsynth.io.flow import decode_flo, flow_colours
from vizsynth.io.preview import id_colour
from vizsynth.io.records import read_record

VIDEO_SUFFIXES = (".gif", ".mp4")
MIN_GIF_FRAME_MS = 20  # browsers show shorter GIF frame delays as 100 ms
_GAP_PX = 2  # white gap between the panels


def sequence_length(out_dir: Path) -> int:
    """Frames per sequence of the dataset at ``out_dir``, from its resolved ``config.yaml``.

    Raises:
        OutputError: no readable config.yaml, or the dataset holds no sequences.
    """
    path = out_dir / "config.yaml"
    try:
        config = yaml.safe_load(path.read_bytes())
    except (OSError, yaml.YAMLError) as exc:
        raise OutputError(f"{path}: cannot read the dataset's config ({type(exc).__name__})") from None
    frames = ((config or {}).get("sequence") or {}).get("frames_per_sequence", 1) if isinstance(config, dict) else 1
    if not isinstance(frames, int) or frames < 2:
        raise OutputError(f"{out_dir}: not a dataset of sequences (config.yaml has no sequence.frames_per_sequence > 1)")
    return frames


def _records(out_dir: Path, sequence: int, frames: int) -> list[FrameRecord]:
    """The records of the sequence's frames that were written (a job of fewer frames, or failed ones,
    leaves some out), in time order."""
    records = []
    for index in range(sequence * frames, (sequence + 1) * frames):
        path = record_path(out_dir, index)
        if not path.is_file():
            continue
        try:
            records.append(read_record(out_dir, index))
        except (OSError, RecordError):
            raise OutputError(f"sequence {sequence}: frame {index}'s record {path} cannot be read") from None
    if not records:
        raise OutputError(f"{out_dir}: sequence {sequence} has no rendered frame (frames {sequence * frames}.."
                          f"{(sequence + 1) * frames - 1})")
    return records


def _forward_flow(out_dir: Path, record: FrameRecord) -> tuple[np.ndarray, np.ndarray] | None:
    name = record.info.flow_files.get("flow_forward_file")
    if name is None:
        return None
    path = out_dir / "flow_forward" / name
    try:
        return decode_flo(path.read_bytes())
    except (OSError, ValueError):
        raise OutputError(f"frame {record.info.index}: flow file {path} is missing or not a .flo file") from None


def sequence_frames(out_dir: Path, sequence: int, scale: float = 1.0) -> tuple[list[np.ndarray], float]:
    """The preview frames of sequence ``sequence``: (H', W', 3) uint8 RGB, each image | flow colour |
    tracks side by side, resized by ``scale``, one per written frame in time order; and the
    sequence's frames per second.

    Raises:
        OutputError: the dataset holds no sequences, the sequence has no written frame, or a written
            frame's files cannot be read.
    """
    frames = sequence_length(out_dir)
    records = _records(out_dir, sequence, frames)
    flows = [_forward_flow(out_dir, r) for r in records]
    lengths = [np.hypot(f[..., 0], f[..., 1])[valid] for f, valid in (x for x in flows if x is not None)]
    # One scale for the whole sequence, so that a colour means the same speed in every frame.
    top = max((float(v.max()) for v in lengths if v.size), default=1.0)
    trails: dict[int, list[tuple[int, int]]] = {}
    out = []
    for record, flow in zip(records, flows):
        t = record.scene.sequence.t if record.scene.sequence is not None else record.info.index % frames
        info = record.info
        path = out_dir / "images" / info.image_file
        bgr = read_image(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise OutputError(f"frame {info.index}: image {path} is missing or cannot be decoded")
        image = np.ascontiguousarray(bgr[..., ::-1])
        height, width = image.shape[:2]
        coded = (flow_colours(*flow, max_px=top) if flow is not None else np.zeros_like(image))
        tracks = image.copy()
        for ann in info.annotations:
            if ann.area == 0:
                continue
            x, y, w, h = (int(round(v)) for v in ann.bbox)
            trails.setdefault(ann.instance_id, []).append((x + w // 2, y + h // 2))
            colour = id_colour(ann.instance_id)[::-1]  # the panels are RGB
            cv2.rectangle(tracks, (x, y), (x + w - 1, y + h - 1), colour, 1)
            cv2.polylines(tracks, [np.array(trails[ann.instance_id], np.int32)], False, colour, 1)
            cv2.putText(tracks, str(ann.instance_id), (x + 1, y + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.35, colour, 1)
        # The frame number keeps every frame distinct (a GIF writer merges identical frames).
        cv2.putText(image, f"t={t}", (2, height - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 255), 1)
        gap = np.full((height, _GAP_PX, 3), 255, np.uint8)
        panel = np.hstack([image, gap, coded, gap, tracks])
        if scale != 1.0:
            panel = cv2.resize(panel, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1
                               else cv2.INTER_NEAREST)
        out.append(np.ascontiguousarray(panel))
    fps = records[0].scene.sequence.fps if records[0].scene.sequence is not None else 24.0
    return out, fps


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> None:
    """Writes RGB frames as an animated GIF (Pillow, looping) or an MP4 (OpenCV, mp4v), atomically.

    Raises:
        OutputError: the suffix is neither .gif nor .mp4, or OpenCV cannot write MP4 here.
    """
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise OutputError(f"{path}: a video preview is .gif or .mp4, got '{path.suffix}'")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in frames]
        data = io.BytesIO()
        images[0].save(data, format="GIF", save_all=True, append_images=images[1:], loop=0,
                       duration=max(MIN_GIF_FRAME_MS, int(round(1000.0 / fps))))
        write_bytes_atomic(path, data.getvalue())
        return
    height, width = frames[0].shape[:2]
    temporary = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")
    writer = cv2.VideoWriter(str(temporary), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    opened = writer.isOpened()
    try:
        try:
            for frame in frames if opened else ():
                writer.write(np.ascontiguousarray(frame[..., ::-1]))
        finally:
            writer.release()
    except BaseException:
        # A half-written temporary is nobody's file: leave no trace of the failed write.
        temporary.unlink(missing_ok=True)
        raise
    if not opened or not temporary.is_file() or temporary.stat().st_size == 0:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"{path}: this OpenCV cannot write MP4 (no mp4v encoder); use a .gif name")
    os.replace(temporary, path)
