"""Sequences without rendering: config off by default, index <-> (sequence, t), motion as recorded."""

from __future__ import annotations

import numpy as np
import pytest

from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import DatasetConfig, load_config
from vizsynth.errors import ConfigError
from vizsynth.motion import scene_at
from vizsynth.sampling.motion_sampler import start_sequence
from vizsynth.sampling.poses import rigid_inverse
from vizsynth.sampling.scene_sampler import sample_scene
from vizsynth.scene import scene_from_dict, scene_to_dict
from vizsynth.seeding import frame_rngs, sequence_rngs


def _start(config, seed=0, sequence=0):
    assets = load_config_assets(config)
    scene = sample_scene(config, assets.catalog, seed=seed, index=sequence, distractors=assets.distractors)
    return start_sequence(config.sequence, scene, seed=seed, sequence=sequence)


def _config(**sequence):
    return load_config({"image": {"width": 64, "height": 48}, "sequence": {"frames_per_sequence": 6, **sequence}})


def test_default_config_has_no_sequence_block():
    assert "sequence" not in DatasetConfig().to_dict()
    assert "sequence" not in DatasetConfig().to_yaml()
    assert "sequence" in _config().to_dict()
    assert load_config(_config(camera_motion="orbit").to_dict()) == _config(camera_motion="orbit")


def test_sequence_settings_without_frames_are_refused():
    with pytest.raises(ConfigError, match="frames_per_sequence > 1"):
        load_config({"sequence": {"camera_motion": "orbit"}})


def test_sequences_refuse_frame_constraints():
    with pytest.raises(ConfigError, match="constraints"):
        load_config({"sequence": {"frames_per_sequence": 3}, "constraints": {"min_visible_objects": 1}})


def test_sequence_streams_are_apart_from_frame_streams():
    frames = frame_rngs(0, 3)
    motion = sequence_rngs(0, 3)
    drawn = {name: g.integers(1 << 62) for name, g in {**frames, **motion}.items()}
    assert len(set(drawn.values())) == len(drawn)
    assert sequence_rngs(0, 3)["camera_motion"].integers(1 << 62) == drawn["camera_motion"]
    assert sequence_rngs(0, 4)["camera_motion"].integers(1 << 62) != drawn["camera_motion"]


def test_sequence_scene_is_the_single_frame_scene_of_index_s_at_t0():
    config = _config(camera_motion="shake", object_motion="constant")
    assets = load_config_assets(config)
    single = sample_scene(config, assets.catalog, seed=5, index=2, distractors=assets.distractors)
    start = _start(config, seed=5, sequence=2)
    assert np.array_equal(start.camera.world_to_cam, single.camera.world_to_cam)
    assert start.sequence.sequence == 2 and start.sequence.t == 0 and start.sequence.frames == 6
    assert [m.instance_id for m in start.sequence.objects] == [o.instance_id for o in start.objects]


@pytest.mark.parametrize("kind", ["static", "orbit", "linear", "random_walk", "shake"])
def test_moving_forward_then_back_returns_the_same_poses(kind):
    start = _start(_config(camera_motion=kind, object_motion="constant"), seed=1)
    there_and_back = scene_at(scene_at(start, 4), 1)
    direct = scene_at(start, 1)
    assert there_and_back.sequence.t == 1
    assert np.allclose(there_and_back.camera.world_to_cam, direct.camera.world_to_cam, atol=1e-12)
    for a, b in zip(there_and_back.objects, direct.objects):
        assert np.allclose(a.obj_to_world, b.obj_to_world, atol=1e-12)


def test_orbit_keeps_the_distance_to_its_vertical_axis_and_height():
    start = _start(_config(camera_motion="orbit", orbit_deg_per_s=24.0), seed=2)
    pivot = np.array(start.sequence.camera.pivot_m)
    centres = [rigid_inverse(scene_at(start, t).camera.world_to_cam)[:3, 3] for t in range(6)]
    radii = [np.linalg.norm((c - pivot)[:2]) for c in centres]
    assert np.allclose(radii, radii[0]) and np.allclose([c[2] for c in centres], centres[0][2])
    # 24 deg/s at 24 fps: one degree per frame about +z.
    a0, a1 = (np.arctan2(*(c - pivot)[1::-1]) for c in centres[:2])
    assert np.isclose(np.rad2deg(a1 - a0), 1.0)


def test_linear_camera_moves_along_its_first_optical_axis():
    start = _start(_config(camera_motion="linear", camera_velocity_m_per_s=[0, 0, 0.24]), seed=3)
    c0, c3 = (rigid_inverse(scene_at(start, t).camera.world_to_cam) for t in (0, 3))
    assert np.allclose(c3[:3, 3] - c0[:3, 3], c0[:3, 2] * 0.24 * 3 / 24)
    assert np.allclose(c3[:3, :3], c0[:3, :3])


def test_objects_move_by_their_recorded_velocities_and_the_floor_stays():
    config = load_config({"image": {"width": 64, "height": 48}, "background": {"floor": True},
                          "sequence": {"frames_per_sequence": 6, "object_motion": "constant"}})
    start = _start(config, seed=4)
    later = scene_at(start, 5)
    motions = {m.instance_id: m for m in start.sequence.objects}
    for before, after in zip(start.objects, later.objects):
        if before.primitive == "floor":
            assert before.instance_id not in motions and np.array_equal(before.obj_to_world, after.obj_to_world)
            continue
        m = motions[before.instance_id]
        dt = 5 / 24
        assert np.allclose(after.obj_to_world[:3, 3] - before.obj_to_world[:3, 3], np.array(m.velocity_m_per_s) * dt)
        turn = after.obj_to_world[:3, :3] @ before.obj_to_world[:3, :3].T
        angle = np.rad2deg(np.arccos(np.clip((np.trace(turn) - 1) / 2, -1, 1)))
        assert np.isclose(angle, np.linalg.norm(m.angular_velocity_deg_per_s) * dt, atol=1e-6)


def test_wobble_stays_near_the_start_and_starts_at_it():
    start = _start(_config(camera_motion="shake"), seed=6)
    assert scene_at(start, 0) is start
    moved = [np.linalg.norm(rigid_inverse(scene_at(start, t).camera.world_to_cam)[:3, 3]
                            - rigid_inverse(start.camera.world_to_cam)[:3, 3]) for t in range(1, 6)]
    assert 0 < max(moved) <= 2 * np.sqrt(3) * 0.002


def test_sequence_block_round_trips_through_a_record(tmp_path):
    frame = scene_at(_start(_config(camera_motion="random_walk", object_motion="constant"), seed=7), 3)
    data = scene_to_dict(frame, tmp_path)
    again = scene_from_dict(data, tmp_path)
    assert data["sequence"]["t"] == 3 and again.sequence == frame.sequence
    assert np.array_equal(again.camera.world_to_cam, frame.camera.world_to_cam)
    assert "sequence" not in scene_to_dict(sample_scene(DatasetConfig(), load_config_assets(DatasetConfig()).catalog,
                                                        seed=0, index=0))
