"""Real evaluation sets as COCO: a COCO file as given, or YCB-Video-style frames converted.

A YCB-Video-style frame folder holds ``<frame>/color.png`` (the photo), ``label.png`` (uint8,
pixel = the object's ``label_value``, 0 = background) and ``meta.json`` (``objects``: ``name``,
``label_value``, ...), as in ``shared/realdata/ycbv``. Boxes come from the real label masks
(``w = x_max - x_min + 1``, like vizsynth's own), categories from the object names.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vizsynth.errors import ConfigError


@dataclass(frozen=True)
class CocoSet:
    """A COCO ground-truth file and the folder its ``file_name``s are relative to."""

    name: str
    annotations: Path
    images: Path


def ycbv_to_coco(frames_dir: str | os.PathLike, out_json: str | os.PathLike, image_file: str = "color.png") -> Path:
    """Writes a COCO file (boxes and RLE masks from the real label masks) for YCB-Video-style frames.

    Args:
        frames_dir: folder of frame folders (``<frame>/label.png``, ``meta.json``, ``image_file``).
        out_json: the COCO file to write; ``file_name`` is ``<frame>/<image_file>``, relative to frames_dir.
        image_file: the file of each frame that serves as its image.

    Returns:
        ``out_json``.

    Raises:
        ConfigError: no frames, or a frame missing its image, label or meta, or a label value
            that no object of meta.json names.
    """
    import cv2
    from pycocotools import mask as coco_mask

    frames_dir = Path(frames_dir)
    frames = sorted(p for p in frames_dir.iterdir() if p.is_dir()) if frames_dir.is_dir() else []
    if not frames:
        raise ConfigError(f"{frames_dir}: no frame folders (<frame>/{image_file}, label.png, meta.json)")
    names: dict[str, int] = {}
    images, annotations = [], []
    for image_id, frame in enumerate(frames, start=1):
        for needed in (image_file, "label.png", "meta.json"):
            if not (frame / needed).is_file():
                raise ConfigError(f"{frame}: missing {needed} (a YCB-Video-style frame needs {image_file}, "
                                  "label.png and meta.json)")
        label = cv2.imread(str(frame / "label.png"), cv2.IMREAD_UNCHANGED)
        if label is None or label.ndim != 2:
            raise ConfigError(f"{frame / 'label.png'}: not a single-channel label image")
        meta = json.loads((frame / "meta.json").read_text())
        by_value = {int(o["label_value"]): str(o["name"]) for o in meta.get("objects", [])}
        height, width = label.shape
        images.append({"id": image_id, "file_name": f"{frame.name}/{image_file}", "width": width, "height": height})
        for value in sorted(int(v) for v in np.unique(label) if v != 0):
            if value not in by_value:
                raise ConfigError(f"{frame}: label value {value} appears in label.png but no object of meta.json "
                                  f"has it (label values {sorted(by_value)})")
            category_id = names.setdefault(by_value[value], len(names) + 1)
            mask = label == value
            rows, cols = np.nonzero(mask)
            rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": category_id, "iscrowd": 0,
                "bbox": [int(cols.min()), int(rows.min()), int(np.ptp(cols) + 1), int(np.ptp(rows) + 1)],
                "area": int(mask.sum()), "segmentation": {"size": [height, width], "counts": rle["counts"].decode()},
            })
    categories = [{"id": i, "name": n} for n, i in names.items()]
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_json.with_name(out_json.name + ".tmp")
    tmp.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    tmp.replace(out_json)
    return out_json


def load_coco(path: str | os.PathLike) -> dict:
    """A COCO JSON file as a dict, with its required keys checked.

    Raises:
        ConfigError: unreadable, not JSON, or missing images/annotations/categories.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read a COCO JSON file: {exc}") from None
    missing = [k for k in ("images", "annotations", "categories") if not isinstance(data.get(k), list)]
    if missing:
        raise ConfigError(f"{path}: a COCO file needs the lists {missing}")
    return data
