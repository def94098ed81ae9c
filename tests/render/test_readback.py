"""Read-back into reused buffers: what a render returns is its own, ids keep both bytes, depth is exact."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import camera
from vizsynth.scene import ObjectSpec, SceneSpec

pytestmark = pytest.mark.gl  # renders (linear_depth's module imports pyrender)

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


def test_linear_depth_in_reused_arrays_equals_fresh_arrays_and_the_formula():
    from vizsynth.render.context import linear_depth

    rng = np.random.default_rng(0)
    window_z = rng.random((48, 64)).astype(np.float32)
    window_z[::5, ::3] = 1.0  # cleared: no surface
    flipped = window_z[::-1]  # the read-back passes a flipped view
    near, far = 0.05, 20.0
    fresh = linear_depth(flipped, near, far)
    reused = np.full((48, 64), -1.0, np.float32)
    scratch, mask = np.full((48, 64), 7.0), np.zeros((48, 64), bool)
    linear_depth(flipped, near, far, out=reused, scratch=scratch, far=mask)
    assert np.array_equal(fresh.view(np.uint32), reused.view(np.uint32))  # bit for bit
    z = flipped.astype(np.float64)
    expected = np.where(z >= 1.0, 0.0, 2 * near * far / (far + near - (2 * z - 1) * (far - near)))
    np.testing.assert_allclose(reused, expected, rtol=1e-6)
    assert (reused[flipped >= 1.0] == 0).all() and (reused[flipped < 1.0] > 0).all()
