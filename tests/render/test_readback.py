"""Read-back into reused buffers: what a render returns is its own, and ids keep both bytes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import camera
from vizsynth.scene import ObjectSpec, SceneSpec

pytestmark = pytest.mark.gl  # renders

K = [[60, 0, 31.5], [0, 60, 23.5], [0, 0, 1]]


def _scene(objects):
    return SceneSpec(camera=camera(K, 64, 48), objects=tuple(objects), lights=(), background_rgb=(0.0, 0.0, 1.0),
                     ambient_rgb=(1.0, 1.0, 1.0))


def _cube(instance_id, x, z=1.0):
    pose = np.eye(4)
    pose[0, 3], pose[2, 3] = x, z
    return ObjectSpec(instance_id, "cube", "cube", None, 0.25, pose)


def test_a_result_is_unchanged_by_the_next_frames_render(renderer):
    first = renderer.render(_scene([_cube(1, -0.2), _cube(2, 0.15)]), amodal=True)
    kept = {name: getattr(first, name).copy() for name in ("rgb", "depth_m", "instance_ids")}
    masks = {i: s.mask.copy() for i, s in first.silhouettes.items()}
    second = renderer.render(_scene([_cube(7, 0.0, 0.6)]), amodal=True)
    assert not np.array_equal(second.instance_ids, kept["instance_ids"])  # the second frame differs
    for name, array in kept.items():
        np.testing.assert_array_equal(getattr(first, name), array, err_msg=name)
    for i, mask in masks.items():
        np.testing.assert_array_equal(first.silhouettes[i].mask, mask)


def test_ids_above_255_keep_their_high_byte(renderer):
    # 258 = 0x0102 and 513 = 0x0201: swapped or dropped bytes would give 513/258, 2 or 1.
    result = renderer.render(_scene([_cube(258, -0.2), _cube(513, 0.15)]))
    assert result.instance_ids.dtype == np.uint16
    assert set(np.unique(result.instance_ids)) == {0, 258, 513}
    # The left cube is on the left: rows come top-down, columns left-right, as in the image.
    assert (result.instance_ids[:, :32] == 258).sum() > (result.instance_ids[:, 32:] == 258).sum()
