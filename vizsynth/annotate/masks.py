"""Masks measured from an instance-id map: boxes in one pass, COCO RLE built from each box.

No full-frame boolean mask is made per object: boxes come from one ``find_objects`` scan of the
id map, and each mask is run-length encoded from the columns its box spans.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask
from scipy import ndimage


def instance_boxes(instance_ids: np.ndarray) -> dict[int, tuple[slice, slice]]:
    """{instance id: (row slice, column slice)} of every id > 0 present in ``instance_ids``.

    Args:
        instance_ids: (H, W) uint16 instance map, 0 = background.
    """
    slices = ndimage.find_objects(instance_ids)
    return {i + 1: s for i, s in enumerate(slices) if s is not None}


def encode_rle(crop: np.ndarray, x0: int, y0: int, height: int, width: int) -> dict:
    """COCO compressed RLE of an image-sized mask that is False outside one box.

    Args:
        crop: (h, w) bool, the mask inside the box; the box must lie inside the image.
        x0, y0: image coordinates of ``crop[0, 0]``.
        height, width: image size.

    Returns:
        {"size": [height, width], "counts": str}, equal to ``pycocotools.mask.encode`` of the
        full mask, computed from the box's full-height columns only.
    """
    h, w = crop.shape
    # Column-major order over full-height columns x0..x0+w-1: COCO RLE runs down each column.
    slab = np.zeros((w, height), dtype=bool)
    slab[:, y0:y0 + h] = crop.T
    slab = slab.ravel()
    change = np.flatnonzero(slab[1:] != slab[:-1]) + 1
    counts = np.diff(np.concatenate(([0], change, [slab.size]))).tolist()
    before, after = x0 * height, (width - x0 - w) * height
    if slab[0]:
        counts.insert(0, before)
    else:
        counts[0] += before
    if after:
        if slab[-1]:
            counts.append(after)
        else:
            counts[-1] += after
    rle = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def box_xywh(rows: np.ndarray, cols: np.ndarray) -> list[int]:
    """COCO [x, y, w, h] of pixel coordinates: w = x_max - x_min + 1."""
    x, y = int(cols.min()), int(rows.min())
    return [x, y, int(cols.max()) - x + 1, int(rows.max()) - y + 1]
