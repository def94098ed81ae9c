"""write_yolo: frame records -> ultralytics YOLO labels (detect or segment) and data.yaml.

Layout: labels sit beside the images as ultralytics expects (``OUT/labels/00000/00000042.txt``
for ``OUT/images/00000/00000042.jpg``), and ``OUT/data.yaml`` names the classes in category order
(class = category id - 1). Objects flagged ``ignore`` and hidden objects get no line.

Segment labels hold exactly one polygon per object, through pixel centres, outer outline only
(holes filled). A mask in several parts (an object split by
an occluder) is written as one polygon that visits every part: parts are joined in order of
distance by a zero-width bridge (out to the next part along a segment and back along the same
segment), the approach ultralytics uses when it converts COCO masks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
import yaml
from pycocotools import mask as coco_mask

from vizsynth.frame_record import ObjectRecord
from vizsynth.io.coco import crop_to_box
from vizsynth.io.files import write_bytes_atomic
from vizsynth.io.records import iter_records


def centre_contours(mask: np.ndarray) -> list[np.ndarray]:
    """Outer outlines of a mask's 8-connected parts through its boundary pixels' centres: (N, 2)
    float64, pixel (i, j) at (j, i). ``cv2.fillPoly`` (ultralytics' ``polygon2mask``) fills every
    pixel on or inside such an outline, so it gives back the part exactly (holes filled)."""
    crop, origin = crop_to_box(mask)
    if not crop.size:
        return []
    contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1, 2).astype(np.float64) + origin for c in contours]


def single_polygon(mask: np.ndarray) -> np.ndarray:
    """(N, 2) float64 polygon through pixel centres ((j, i) for pixel (i, j)) visiting every part
    of ``mask``."""
    parts = sorted(centre_contours(mask), key=lambda p: (p[:, 0].min(), p[:, 1].min()))
    polygon = parts[0]
    for part in parts[1:]:
        # Nearest pair of vertices between what we have and the next part.
        d = np.linalg.norm(polygon[:, None, :] - part[None, :, :], axis=-1)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        rotated = np.roll(part, -j, axis=0)
        polygon = np.vstack([polygon[: i + 1], rotated, rotated[:1], polygon[i:]])
    return polygon


def label_lines(annotations: Sequence[ObjectRecord], width: int, height: int, task: str) -> list[str]:
    """One YOLO line per positive object: ``class cx cy w h`` or ``class x1 y1 x2 y2 ...``, in [0, 1]."""
    lines = []
    for ann in annotations:
        if ann.area == 0 or ann.ignore:
            continue
        cls = ann.category_id - 1
        if task == "detect":
            x, y, w, h = ann.bbox  # pixel edges: the box spans [x, x + w] x [y, y + h]
            values = [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]
        else:
            # Normalised coordinates span the image edge to edge, so the centre of pixel j is at
            # (j + 0.5) / width; ultralytics scales back and truncates to int, which gives j again
            # however the 6 decimals round.
            polygon = (single_polygon(coco_mask.decode(ann.segmentation)) + 0.5) / [width, height]
            values = np.clip(polygon, 0.0, 1.0).ravel().tolist()
        lines.append(" ".join([str(cls)] + [f"{v:.6f}" for v in values]))
    return lines


def write_yolo(out_dir: Path, indices: Iterable[int], categories: list[dict], task: str = "segment") -> int:
    """Writes one label file per frame and ``data.yaml``; returns the number of label lines."""
    out_dir = Path(out_dir)
    total = 0
    for _, record in iter_records(out_dir, indices):
        camera = record.scene.camera
        lines = label_lines(record.info.annotations, camera.width, camera.height, task)
        total += len(lines)
        label_file = Path(record.info.image_file).with_suffix(".txt")
        write_bytes_atomic(out_dir / "labels" / label_file, "".join(line + "\n" for line in lines).encode())
    data = {
        "path": str(out_dir.resolve()),
        "train": "images",
        "val": "images",
        "task": task,
        "names": {c["id"] - 1: c["name"] for c in categories},
    }
    write_bytes_atomic(out_dir / "data.yaml", yaml.safe_dump(data, sort_keys=False).encode())
    return total
