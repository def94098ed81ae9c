"""write_frame: one frame's images, depth, instance map and record, each written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from vizsynth.annotate.frame import FrameAnnotations
from vizsynth.config import OutputConfig
from vizsynth.io.files import frame_stem, record_path, write_bytes_atomic, write_json_atomic
from vizsynth.io.flow import FLOW_RECORD_FILES, whole_float_file, write_flow
from vizsynth.maps import BY_NAME, MAP_NAMES, encode_depth
from vizsynth.results import Frame
from vizsynth.scene import scene_to_dict

# libpng's default tries every row filter on every row, which costs 3-4x the compression itself.
# One fixed filter per kind of image, chosen by measurement (benchmarks/throughput.py notes):
# ids are flat regions (no filter compresses them best), depth and colour vary smoothly.
_PNG_IDS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
_PNG_DEPTH = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
_PNG_RGB = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]


def _encode(suffix: str, image: np.ndarray, params: list[int]) -> bytes:
    ok, buffer = cv2.imencode(suffix, image, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {suffix} image of shape {image.shape}")
    return buffer.tobytes()


def _finite(array: np.ndarray) -> list:
    """Nested lists with NaN as None (JSON has no NaN)."""
    return [_finite(a) for a in array] if array.ndim > 1 else [None if np.isnan(x) else float(x) for x in array]


def annotation_records(annotations: FrameAnnotations) -> list[dict]:
    """Per-object dicts as stored in a frame record: every object of the scene, hidden ones too.

    COCO fields (``bbox``, ``segmentation``, ``area``, ``iscrowd``) plus every other label; the
    writers (COCO, YOLO, BOP) derive their formats from these records alone.
    """
    return [
        {
            "instance_id": a.instance_id, "category": a.category, "category_id": a.category_id,
            "bbox": a.bbox_xywh, "area": a.area, "segmentation": a.segmentation,
            "iscrowd": int(a.ignore), "ignore": int(a.ignore),
            "obj_to_cam": a.obj_to_cam.tolist(),
            "amodal_bbox": a.amodal_bbox_xywh, "amodal_area": a.amodal_area,
            "amodal_segmentation": a.amodal_segmentation, "silhouette_pixels": a.silhouette_pixels,
            "visibility": a.visibility, "truncation": a.truncation,
            "box_extents_m": a.box_extents_m.tolist(), "box_2d": _finite(a.box_2d),
            "box_in_image": a.box_in_image.tolist(),
            "keypoints": [v for row in _finite(a.keypoints) for v in row],
        }
        for a in annotations.objects
    ]


def write_frame(out_dir: Path, frame: Frame, output: OutputConfig, record_info: dict) -> dict:
    """Writes a frame: rgb, uint16 depth PNG, uint16 instance PNG, then its record (last).

    Args:
        record_info: extra fields for the record (seed, index, ...), stored under ``record``.

    Returns:
        The record dict that was written.
    """
    index = frame.index
    stem = frame_stem(index)
    suffix = ".jpg" if output.image_format == "jpg" else ".png"
    rgb_params = [cv2.IMWRITE_JPEG_QUALITY, output.jpeg_quality] if suffix == ".jpg" else _PNG_RGB
    image_file = f"{stem}{suffix}"
    write_bytes_atomic(out_dir / "images" / image_file, _encode(suffix, frame.rgb[..., ::-1], rgb_params))
    depth = encode_depth(frame.depth_m, output.depth_scale_m)
    write_bytes_atomic(out_dir / "depth" / f"{stem}.png", _encode(".png", depth, _PNG_DEPTH))
    write_bytes_atomic(out_dir / "instances" / f"{stem}.png", _encode(".png", frame.instance_ids, _PNG_IDS))
    extra_files = {}
    for name, image in frame.maps.items():
        encoded = BY_NAME[name].encode(image, output)
        write_bytes_atomic(out_dir / name / f"{stem}.png", _encode(".png", encoded, _PNG_DEPTH))
        extra_files[f"{name}_file"] = f"{stem}.png"
    if frame.flow:
        extra_files.update(write_flow(out_dir, stem, frame.flow))

    path = record_path(out_dir, index)
    record = scene_to_dict(frame.spec, base_dir=path.parent)
    record["record"] = {
        **record_info,
        "index": index,
        "image_file": image_file,
        "depth_file": f"{stem}.png",
        "instances_file": f"{stem}.png",
        **extra_files,
        "depth_scale_m": output.depth_scale_m,
        "annotations": annotation_records(frame.annotations),
    }
    write_json_atomic(path, record)
    return record


# Where each file named in a record lives, and how a whole file of each kind ends.
_RECORD_FILES = {"image_file": "images", "depth_file": "depth", "instances_file": "instances",
                 **{f"{name}_file": name for name in MAP_NAMES}, **FLOW_RECORD_FILES}
_REQUIRED_FILES = ("image_file", "depth_file", "instances_file")
_WHOLE_FILE_END = {".png": b"IEND\xaeB`\x82", ".jpg": b"\xff\xd9"}


def frame_complete(out_dir: Path, index: int) -> bool:
    """Whether frame ``index`` is whole on disk: its record parses and names this frame, and every
    file it names exists and ends as a complete PNG/JPEG does (a cheap check: nothing is decoded).

    ``--resume`` renders again every frame for which this is False.
    """
    try:
        meta = json.loads(record_path(out_dir, index).read_bytes())["record"]
        if meta["index"] != index or not all(key in meta for key in _REQUIRED_FILES):
            return False
        for key, folder in _RECORD_FILES.items():
            if key in meta and not _whole_image(out_dir / folder / meta[key]):
                return False
    except (OSError, ValueError, KeyError, TypeError):
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
