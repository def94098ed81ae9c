"""write_frame: one frame's images, depth, instance map and record, each written atomically."""

from __future__ import annotations

import os
from concurrent.futures import Executor, wait
from pathlib import Path

import cv2
import numpy as np

from vizsynth.annotate.annotator import FrameAnnotations, ObjectAnnotation
from vizsynth.config import OutputConfig
from vizsynth.errors import RecordError
from vizsynth.frame_record import FrameRecord, ObjectRecord, RecordInfo, record_to_dict
from vizsynth.io.files import frame_stem, record_path, write_bytes_atomic, write_json_atomic
from vizsynth.io.flow import whole_float_file, write_flow
from vizsynth.io.png import encode_png16
from vizsynth.io.records import read_record
from vizsynth.maps import BY_NAME, encode_depth
from vizsynth.results import Frame

# libpng's default tries every row filter on every row, which costs 3-4x the compression itself.
# One fixed filter per kind of image, chosen by measurement: ids are flat regions (no filter
# compresses them best), depth and colour vary smoothly. Single-channel 16-bit maps go through
# vizsynth.io.png (ISA-L's deflate, ~8x faster than OpenCV's zlib); colour stays with OpenCV.
_PNG_RGB = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
_PNG_MAP = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]


def _encode_map(image: np.ndarray) -> bytes:
    """A 16-bit map's PNG: greyscale ones with the "up" filter, multi-channel ones with OpenCV."""
    return encode_png16(image, "up") if image.ndim == 2 else _encode(".png", image, _PNG_MAP)


def _encode(suffix: str, image: np.ndarray, params: list[int]) -> bytes:
    ok, buffer = cv2.imencode(suffix, image, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {suffix} image of shape {image.shape}")
    return buffer.tobytes()


# Threads a frame's images can be encoded and written on at once: cv2.imencode and NumPy release the
# GIL, so on a machine with spare cores the encodes of one frame overlap (wall time, not CPU time).
WRITER_THREADS = 3


def _write_files(jobs: list, writers: Executor | None) -> None:
    """Runs each (path, make bytes) job, on ``writers`` if given; returns when all files are on disk.

    Raises:
        The first job's exception (after every job has finished), e.g. OSError of a full disk.
    """
    if writers is None:
        for path, make in jobs:
            write_bytes_atomic(path, make())
        return
    futures = [writers.submit(lambda path, make: write_bytes_atomic(path, make()), path, make) for path, make in jobs]
    wait(futures)
    for future in futures:
        future.result()


def _finite(array: np.ndarray) -> list:
    """Nested lists of floats with NaN as None (JSON has no NaN)."""
    return _nan_to_none(np.asarray(array, dtype=np.float64).tolist())


def _nan_to_none(values: list) -> list:
    return [_nan_to_none(v) if isinstance(v, list) else None if v != v else v for v in values]  # NaN != NaN


def object_record(a: ObjectAnnotation) -> ObjectRecord:
    """The record of one measured object: COCO fields (``bbox``, ``segmentation``, ``area``,
    ``iscrowd``) plus every other label, as JSON values; the label writers read only these."""
    return ObjectRecord(
        instance_id=a.instance_id, category=a.category, category_id=a.category_id,
        bbox=a.bbox_xywh, area=a.area, segmentation=a.segmentation,
        iscrowd=int(a.ignore), ignore=int(a.ignore),
        obj_to_cam=a.obj_to_cam.tolist(),
        amodal_bbox=a.amodal_bbox_xywh, amodal_area=a.amodal_area,
        amodal_segmentation=a.amodal_segmentation, silhouette_pixels=a.silhouette_pixels,
        visibility=a.visibility, truncation=a.truncation,
        box_extents_m=a.box_extents_m.tolist(), box_2d=_finite(a.box_2d),
        box_in_image=a.box_in_image.tolist(),
        keypoints=[v for row in _finite(a.keypoints) for v in row],
    )


def annotation_records(annotations: FrameAnnotations) -> tuple[ObjectRecord, ...]:
    """The records of every object of the scene, hidden ones too, in scene order."""
    return tuple(object_record(a) for a in annotations.objects)


def write_frame(out_dir: Path, frame: Frame, output: OutputConfig, record_info: dict,
                writers: Executor | None = None) -> FrameRecord:
    """Writes a frame: rgb, uint16 depth PNG, uint16 instance PNG (all on disk before this goes
    on), then its record (last: a record means a whole frame).

    Args:
        record_info: how the frame was made, as RecordInfo fields: ``vizsynth_version`` and
            ``seed`` and ``tries``, or ``scene_file``.
        writers: threads to encode and write the images on at once (e.g. ``WRITER_THREADS`` of a
            ThreadPoolExecutor); None writes them one after another in this thread.

    Returns:
        The record that was written.
    """
    index = frame.index
    stem = frame_stem(index)
    suffix = ".jpg" if output.image_format == "jpg" else ".png"
    rgb_params = [cv2.IMWRITE_JPEG_QUALITY, output.jpeg_quality] if suffix == ".jpg" else _PNG_RGB
    image_file = f"{stem}{suffix}"
    depth_scale_m = output.depth_scale_m
    jobs = [
        # A contiguous BGR copy (one SIMD pass) costs a tenth of what encoding the reversed view does.
        (out_dir / "images" / image_file, lambda: _encode(suffix, cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), rgb_params)),
        # The renderer's own samples when it made them in this scale (Frame.depth_png), else encoded here.
        (out_dir / "depth" / f"{stem}.png",
         lambda: encode_png16(frame.depth_png if frame.depth_png_scale_m == depth_scale_m
                              else encode_depth(frame.depth_m, depth_scale_m), "up")),
        (out_dir / "instances" / f"{stem}.png", lambda: encode_png16(frame.instance_ids, "none")),
    ]
    map_files = {}
    for name, image in frame.maps.items():
        jobs.append((out_dir / name / f"{stem}.png",
                     lambda name=name, image=image: _encode_map(BY_NAME[name].encode(image, output))))
        map_files[name] = f"{stem}.png"
    _write_files(jobs, writers)
    flow_files = write_flow(out_dir, stem, frame.flow) if frame.flow else {}

    record = FrameRecord(frame.spec, RecordInfo(
        **record_info, index=index, image_file=image_file, depth_file=f"{stem}.png", instances_file=f"{stem}.png",
        map_files=map_files, flow_files=flow_files, depth_scale_m=output.depth_scale_m, annotations=annotation_records(frame.annotations),
    ))
    path = record_path(out_dir, index)
    write_json_atomic(path, record_to_dict(record, path.parent))
    return record


# How a whole file of each kind ends.
_WHOLE_FILE_END = {".png": b"IEND\xaeB`\x82", ".jpg": b"\xff\xd9"}


def frame_complete(out_dir: Path, index: int) -> bool:
    """Whether frame ``index`` is whole on disk: its record parses and names this frame, and every
    file it names exists and ends as a complete PNG/JPEG does (a cheap check: nothing is decoded).

    ``--resume`` renders again every frame for which this is False.
    """
    try:
        info = read_record(out_dir, index).info
        if info.index != index:
            return False
        for folder, file in info.files:
            if not _whole_image(out_dir / folder / file):
                return False
    except (OSError, RecordError):
        return False
    return True


def _whole_image(path: Path) -> bool:
    if path.suffix in (".flo", ".npy"):
        return whole_float_file(path)
    end = _WHOLE_FILE_END.get(path.suffix)
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if end is None or size < 8 + len(end):
            return False
        f.seek(size - len(end))
        return f.read() == end
