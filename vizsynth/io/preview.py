"""Preview images: a dataset's labels drawn on its frames, read back from the written files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from vizsynth.errors import OutputError
from vizsynth.io.files import record_path


def _colour(instance_id: int) -> tuple[int, int, int]:
    """A bright colour per id (golden-ratio hue steps), BGR uint8."""
    hue = int((instance_id * 0.618034 % 1.0) * 180)
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return tuple(int(c) for c in bgr)


def draw_frame(out_dir: Path, index: int) -> np.ndarray:
    """(H, W, 3) uint8 BGR: frame ``index``'s image with each annotation's RLE mask outline,
    COCO box and category name, all decoded from the frame's written record."""
    path = record_path(out_dir, index)
    if not path.is_file():
        raise OutputError(f"frame {index} has no record {path} (not rendered, or failed)")
    record = json.loads(path.read_text())["record"]
    image = cv2.imread(str(out_dir / "images" / record["image_file"]), cv2.IMREAD_COLOR)
    for ann in record["annotations"]:
        colour = _colour(ann["instance_id"])
        mask = coco_mask.decode(ann["segmentation"])
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(image, contours, -1, colour, 1)
        x, y, w, h = ann["bbox"]
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), colour, 1)
        cv2.putText(image, ann["category"], (x, max(y - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1,
                    cv2.LINE_AA)
    return image


def preview_grid(out_dir: Path, indices: list[int], columns: int = 3, scale: float = 0.5) -> np.ndarray:
    """The drawn frames tiled ``columns`` wide, each resized by ``scale`` (BGR uint8)."""
    tiles = [cv2.resize(draw_frame(out_dir, i), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
             for i in indices]
    height, width = tiles[0].shape[:2]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    tiles = [cv2.resize(t, (width, height)) for t in tiles]
    rows = [np.hstack(tiles[r:r + columns]) for r in range(0, len(tiles), columns)]
    return np.vstack(rows)
