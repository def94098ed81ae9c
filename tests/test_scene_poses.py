"""Nearly rigid poses (real 6D datasets store rotations with ~1e-3 rounding) are projected to the
nearest rotation and flagged; poses further from a rotation are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

import vizsynth
from vizsynth.errors import SceneError
from vizsynth.scene import scene_from_dict

ROTATION = np.array([[0.36, 0.48, -0.8], [-0.8, 0.6, 0.0], [0.48, 0.64, 0.6]])  # exactly orthonormal
# Fixed, not random: a perturbation direction whose size is set by each test.
DIRECTION = np.array([[1.0, -0.5, 0.25], [0.5, 1.0, -1.0], [-0.25, 0.75, 1.0]])


def _scene(rotation: np.ndarray) -> dict:
    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = [0.02, -0.01, 1.0]
    return {"camera": {"K": [[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]], "width": 64, "height": 48},
            "objects": [{"category": "box", "primitive": "cube", "mesh_scale": 0.4, "obj_to_world": pose.tolist()}]}


@pytest.mark.gl
def test_pose_off_by_2e_3_is_projected_flagged_and_renders_like_the_exact_one(tmp_path):
    noisy = ROTATION + 2e-3 * DIRECTION
    assert 1e-3 < np.abs(noisy.T @ noisy - np.eye(3)).max() < 1e-2
    spec = scene_from_dict(_scene(noisy), tmp_path)
    obj = spec.objects[0]
    rotation = obj.obj_to_world[:3, :3]
    assert obj.rotation_projected and not spec.camera.rotation_projected
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-12)
    assert np.abs(rotation - noisy).max() < 5e-3  # the nearest rotation, not some other one

    exact = vizsynth.render_scene(scene_from_dict(_scene(ROTATION), tmp_path))
    projected = vizsynth.render_scene(spec)
    a, b = exact.instance_ids == 1, projected.instance_ids == 1
    assert a.sum() > 300
    assert (a & b).sum() / (a | b).sum() > 0.97

    # The frame record says so, and replaying the record keeps the pose and the flag.
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(_scene(noisy)))
    vizsynth.render_scenes([path], tmp_path / "out")
    record = json.loads(next((tmp_path / "out" / "frames").rglob("*.json")).read_text())
    assert record["objects"][0]["rotation_projected"] is True
    again = scene_from_dict(record, tmp_path)
    assert again.objects[0].rotation_projected
    np.testing.assert_array_equal(again.objects[0].obj_to_world, obj.obj_to_world)


def test_exact_pose_is_not_flagged(tmp_path):
    spec = scene_from_dict(_scene(ROTATION), tmp_path)
    assert not spec.objects[0].rotation_projected
    np.testing.assert_array_equal(spec.objects[0].obj_to_world[:3, :3], ROTATION)


@pytest.mark.parametrize("rotation", [ROTATION + 5e-2 * DIRECTION, ROTATION * 1.02, -ROTATION],
                         ids=["off_by_5e-2", "scaled", "reflection"])
def test_pose_far_from_a_rotation_is_refused(tmp_path, rotation):
    with pytest.raises(SceneError, match=r"objects\.0\.obj_to_world.*must be rigid"):
        scene_from_dict(_scene(rotation), tmp_path, source="scene.json")


def test_nearly_rigid_camera_pose_is_projected_too(tmp_path):
    data = _scene(ROTATION)
    world_to_cam = np.eye(4)
    world_to_cam[:3, :3] = np.eye(3) + 2e-3 * DIRECTION
    data["camera"]["world_to_cam"] = world_to_cam.tolist()
    spec = scene_from_dict(data, tmp_path)
    assert spec.camera.rotation_projected
    r = spec.camera.world_to_cam[:3, :3]
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-12)
