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


def encode_rle(instance_ids: np.ndarray, instance_id: int, box: tuple[slice, slice]) -> dict:
    """COCO compressed RLE of ``instance_ids == instance_id``, scanning only the box's columns.

    Args:
        instance_ids: (H, W) uint16 instance map.
        instance_id: the id to encode.
        box: (row slice, column slice) containing every pixel of the id.

    Returns:
        {"size": [H, W], "counts": str}, equal to ``pycocotools.mask.encode`` of the full mask.
    """
    height, width = instance_ids.shape
    cols = box[1]
    # Column-major order over full-height columns x0..x1: COCO RLE runs down each column.
    slab = (instance_ids[:, cols] == instance_id).T.ravel()
    change = np.flatnonzero(slab[1:] != slab[:-1]) + 1
    runs = np.diff(np.concatenate(([0], change, [slab.size])))
    before = cols.start * height
    after = (width - cols.stop) * height
    counts = runs.tolist()
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


def box_xywh(box: tuple[slice, slice]) -> list[int]:
    """COCO [x, y, w, h] of a (row slice, column slice): w = x_max - x_min + 1 in pixels."""
    rows, cols = box
    return [cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start]
