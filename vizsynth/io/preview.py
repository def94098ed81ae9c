"""Preview images: a dataset's labels drawn on its frames, read back from the written files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from vizsynth.errors import OutputError
from vizsynth.imagefiles import read_image
from vizsynth.io.files import record_path
from vizsynth.io.records import read_record


def id_colour(instance_id: int) -> tuple[int, int, int]:
    """A bright colour per id (golden-ratio hue steps), BGR uint8 (reverse it for RGB images)."""
    hue = int((instance_id * 0.618034 % 1.0) * 180)
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return tuple(int(c) for c in bgr)


# The 12 edges of a box whose corners are ordered x slowest, z fastest (vizsynth's box_2d order).
_BOX_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def _depth_thumbnail(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A colour-mapped depth image (near = bright), background black, resized to ``size`` (w, h)."""
    valid = depth > 0
    shown = np.zeros(depth.shape, np.uint8)
    if valid.any():
        near, far = depth[valid].min(), depth[valid].max()
        shown[valid] = (255 - 200 * (depth[valid] - near) / max(far - near, 1)).astype(np.uint8)
    coloured = cv2.applyColorMap(shown, cv2.COLORMAP_VIRIDIS)
    coloured[~valid] = 0
    return cv2.resize(coloured, size, interpolation=cv2.INTER_NEAREST)


def draw_frame(out_dir: Path, index: int) -> np.ndarray:
    """(H, W, 3) uint8 BGR: frame ``index``'s image with each annotation's RLE mask outline,
    COCO box, category name, projected 3D box, keypoints (filled: visible, hollow: hidden) and a
    depth thumbnail in the corner, all decoded from the frame's written files."""
    path = record_path(out_dir, index)
    if not path.is_file():
        raise OutputError(f"frame {index} has no record {path} (not rendered, or failed)")
    info = read_record(out_dir, index).info
    image_path = out_dir / "images" / info.image_file
    image = read_image(image_path, cv2.IMREAD_COLOR)
    if image is None:
        raise OutputError(f"frame {index}: image {image_path} is missing or cannot be decoded")
    for ann in info.annotations:
        if ann.area == 0:  # hidden: in the record, but nothing to draw
            continue
        colour = id_colour(ann.instance_id)
        mask = coco_mask.decode(ann.segmentation)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(image, contours, -1, colour, 1)
        x, y, w, h = ann.bbox
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), colour, 1)
        cv2.putText(image, ann.category, (x, max(y - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1,
                    cv2.LINE_AA)
        corners = ann.box_2d
        for a, b in _BOX_EDGES if len(corners) == 9 else []:
            if corners[a][0] is not None and corners[b][0] is not None:
                pa = tuple(int(round(v)) for v in corners[a])
                pb = tuple(int(round(v)) for v in corners[b])
                cv2.line(image, pa, pb, colour, 1, cv2.LINE_AA)
        keypoints = ann.keypoints
        for i in range(0, len(keypoints), 3):
            u, v, flag = keypoints[i:i + 3]
            if flag:
                cv2.circle(image, (int(round(u)), int(round(v))), 3, colour, -1 if flag == 2 else 1, cv2.LINE_AA)
    depth = read_image(out_dir / "depth" / info.depth_file)
    if depth is not None:
        h, w = image.shape[:2]
        thumb = _depth_thumbnail(depth, (w // 4, h // 4))
        image[h - thumb.shape[0]:, w - thumb.shape[1]:] = thumb
    return image


def preview_grid(out_dir: Path, indices: list[int], columns: int = 4, scale: float = 0.5) -> np.ndarray:
    """The drawn frames tiled ``columns`` wide, each resized by ``scale`` (BGR uint8)."""
    tiles = [cv2.resize(draw_frame(out_dir, i), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
             for i in indices]
    height, width = tiles[0].shape[:2]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    tiles = [cv2.resize(t, (width, height)) for t in tiles]
    rows = [np.hstack(tiles[r:r + columns]) for r in range(0, len(tiles), columns)]
    return np.vstack(rows)
