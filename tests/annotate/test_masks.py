"""COCO RLE built from one object's box equals pycocotools' encoding of the full-frame mask; boxes found
from hints equal a find_objects scan of the whole map."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from vizsynth.annotate.masks import box_xywh, encode_rle, instance_boxes, object_boxes


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
    assert box_xywh(boxes[4]) == [2, 1, 5, 2]  # w = x_max - x_min + 1
    assert box_xywh(boxes[4], x0=-3, y0=10) == [-1, 11, 5, 2]  # a box of a crop placed at (x0, y0)
    assert ids[boxes[4]].tolist() == [[4] * 5] * 2


@settings(max_examples=300, deadline=None)
@given(height=st.integers(1, 20), width=st.integers(1, 20), data=st.data())
def test_boxes_found_from_hints_equal_find_objects_whatever_the_hints(height, width, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    # Mostly background, ids 1..6 (some absent), a few scattered pixels of any id anywhere.
    ids = np.where(rng.random((height, width)) < data.draw(st.sampled_from([0.05, 0.3, 1.0])),
                   rng.integers(1, 7, (height, width)), 0).astype(np.uint16)
    expected = instance_boxes(ids)
    hints = {}
    for instance_id in data.draw(st.sets(st.integers(1, 6), min_size=1)):
        if instance_id in expected and data.draw(st.booleans()):  # a right hint: the true box, grown
            rows, cols = expected[instance_id]
            grow = data.draw(st.integers(0, 3))
            hints[instance_id] = (slice(max(rows.start - grow, 0), min(rows.stop + grow, height)),
                                  slice(max(cols.start - grow, 0), min(cols.stop + grow, width)))
        else:  # any box, empty ones too: may miss pixels of the id
            y0, x0 = data.draw(st.integers(0, height)), data.draw(st.integers(0, width))
            hints[instance_id] = (slice(y0, data.draw(st.integers(y0, height))),
                                  slice(x0, data.draw(st.integers(x0, width))))
    boxes = object_boxes(ids, hints)
    assert boxes == {i: box for i, box in expected.items() if i in hints}


def test_boxes_found_from_hints_when_the_hints_are_right_and_other_ids_cover_the_rest():
    ids = np.full((30, 40), 9, np.uint16)  # a floor (id 9) everywhere else
    ids[5:9, 6:10] = 2
    ids[20:25, 30:33] = 3
    ids[21, 31] = 7  # a distractor inside an object's box
    hints = {2: (slice(4, 10), slice(5, 12)), 3: (slice(18, 26), slice(29, 35)), 5: (slice(0, 3), slice(0, 3))}
    assert object_boxes(ids, hints) == {2: (slice(5, 9), slice(6, 10)), 3: (slice(20, 25), slice(30, 33))}
    assert object_boxes(ids, {}) == {}  # a frame of distractors only


@pytest.mark.parametrize("height, width, box", [
    (6, 5, (0, 0, 6, 5)),   # the full image
    (6, 5, (0, 1, 6, 3)),   # full-height columns: runs join across columns
    (6, 5, (0, 4, 6, 1)),   # the last column, full height: the mask ends on the last pixel
    (6, 5, (5, 0, 1, 5)),   # the bottom row
    (1, 7, (0, 2, 1, 3)),   # a one-row image
])
def test_rle_from_a_box_of_a_full_mask_touching_the_borders(height, width, box):
    y0, x0, h, w = box
    full = np.zeros((height, width), dtype=bool)
    full[y0:y0 + h, x0:x0 + w] = True
    expected = coco_mask.encode(np.asfortranarray(full.astype(np.uint8)))["counts"].decode("ascii")
    assert encode_rle(full[y0:y0 + h, x0:x0 + w], x0, y0, height, width)["counts"] == expected
    assert encode_rle(np.zeros((h, w), bool), x0, y0, height, width)["counts"] == \
        coco_mask.encode(np.zeros((height, width), np.uint8, order="F"))["counts"].decode("ascii")
