"""COCO RLE built from one object's box equals pycocotools' encoding of the full-frame mask."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from vizsynth.annotate.masks import box_xywh, encode_rle, instance_boxes


@settings(max_examples=300, deadline=None)
@given(height=st.integers(1, 24), width=st.integers(1, 24), data=st.data())
def test_rle_from_a_box_equals_pycocotools_on_the_full_mask(height, width, data):
    y0 = data.draw(st.integers(0, height - 1))
    x0 = data.draw(st.integers(0, width - 1))
    h = data.draw(st.integers(1, height - y0))
    w = data.draw(st.integers(1, width - x0))
    seed = data.draw(st.integers(0, 2**31 - 1))
    crop = np.random.default_rng(seed).random((h, w)) < data.draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    full = np.zeros((height, width), dtype=bool)
    full[y0:y0 + h, x0:x0 + w] = crop
    expected = coco_mask.encode(np.asfortranarray(full.astype(np.uint8)))
    rle = encode_rle(crop, x0, y0, height, width)
    assert rle["size"] == [height, width]
    assert rle["counts"] == expected["counts"].decode("ascii")
    assert np.array_equal(coco_mask.decode({"size": rle["size"], "counts": rle["counts"]}), full)


def test_boxes_and_xywh_of_an_instance_map():
    ids = np.zeros((6, 8), np.uint16)
    ids[1:3, 2:7] = 4
    ids[5, 0] = 1
    boxes = instance_boxes(ids)
    assert set(boxes) == {1, 4}
    rows, cols = np.nonzero(ids == 4)
    assert box_xywh(rows, cols) == [2, 1, 5, 2]  # w = x_max - x_min + 1
    assert ids[boxes[4]].tolist() == [[4] * 5] * 2
