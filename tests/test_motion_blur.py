"""Motion blur from the sequence's own motion: the colour image averages colour passes over the open
shutter; labels and depth stay those of the frame's time, and the record says it was blurred."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.helpers import camera
from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import load_config
from vizsynth.motion import trajectory_pose
from vizsynth.pipeline import FrameRenderer
from vizsynth.sampling.motion_sampler import start_sequence
from vizsynth.sampling.scene_sampler import sample_scene
from vizsynth.scene import (
    CameraMotionSpec,
    MaterialSpec,
    MotionBlurSpec,
    ObjectMotionSpec,
    ObjectSpec,
    SceneSpec,
    SequenceSpec,
    scene_from_dict,
    scene_to_dict,
)

W, H = 96, 48
K = np.array([[60.0, 0.0, 47.5], [0.0, 60.0, 23.5], [0.0, 0.0, 1.0]])
SIZE_M, CENTRE_Z_M, START_X_M, SPEED_M_PER_FRAME = 0.6, 1.5, 0.25, 0.4
SAMPLES, SHUTTER = 16, 0.5
CONFIG = {"image": {"width": W, "height": H}, "render": {"antialias": False},
          "sequence": {"frames_per_sequence": 2, "motion_blur": {"samples": SAMPLES, "shutter": SHUTTER}}}


def _scene(blur: MotionBlurSpec | None) -> SceneSpec:
    """A grey cube right of the optical axis moving right, a still camera, black background, no lights
    but full ambient: every surface the same colour, so each pixel's value is the cube's coverage."""
    pose = np.eye(4)
    pose[:3, 3] = [START_X_M, 0.0, CENTRE_Z_M]
    cube = ObjectSpec(1, "cube", "cube", None, SIZE_M, pose, material=MaterialSpec((0.8, 0.8, 0.8), 0.0, 1.0))
    motion = ObjectMotionSpec(1, (SPEED_M_PER_FRAME, 0.0, 0.0), (0.0, 0.0, 0.0))
    return SceneSpec(camera=camera(K, W, H), objects=(cube,), lights=(), background_rgb=(0.0, 0.0, 0.0),
                     ambient_rgb=(1.0, 1.0, 1.0),
                     sequence=SequenceSpec(0, 0, 2, 1.0, CameraMotionSpec("static"), (motion,), blur))


@pytest.fixture(scope="module")
def frames():
    with FrameRenderer(load_config(CONFIG), 0) as renderer:
        yield renderer


@pytest.mark.gl
def test_translating_cube_blurs_along_its_motion_and_labels_stay_sharp(frames):
    blur = MotionBlurSpec(SAMPLES, SHUTTER)
    sharp = frames.render(_scene(None))
    blurred = frames.render(_scene(blur))
    assert np.array_equal(blurred.instance_ids, sharp.instance_ids)
    assert blurred.depth_m.tobytes() == sharp.depth_m.tobytes()

    level = sharp.rgb[H // 2, :, 0].astype(float)
    plateau = level.max()
    face = np.flatnonzero(sharp.instance_ids[H // 2] == 1)
    right_edge = face.max() + 0.5  # between the last pixel of the cube and the first of the background
    # The right silhouette edge is the front face's (the cube is right of the axis): it moves
    # f * dx / z pixels a frame, and the open shutter sees a shutter's fraction of that move.
    flow_px = K[0, 0] * SPEED_M_PER_FRAME / (CENTRE_Z_M - SIZE_M / 2)
    assert abs(np.flatnonzero(level > plateau / 2).max() + 0.5 - right_edge) <= 0.5
    row = blurred.rgb[H // 2, :, 0].astype(float)
    right = np.arange(W) > face.mean()
    ramp = right & (row > 0.05 * plateau) & (row < 0.95 * plateau)
    assert abs(ramp.sum() - SHUTTER * flow_px) <= 1.5, (ramp.sum(), SHUTTER * flow_px)
    assert np.all(np.diff(row[right]) <= 0)  # one monotone ramp down to the background
    crossing = np.flatnonzero(right & (row >= plateau / 2)).max() + 0.5
    assert abs(crossing - right_edge) <= 1.0  # the shutter is centred on the frame's time
    # Across the motion nothing blurs: the top and bottom edges of the cube stay one-pixel steps.
    column = blurred.rgb[:, int(face.mean()), 0].astype(float)
    assert not ((column > 0.05 * plateau) & (column < 0.95 * plateau)).any()
    # Sharp rendering has no ramp at all: the test sees the blur, not antialiasing.
    assert not ((level > 0.05 * plateau) & (level < 0.95 * plateau)).any()


@pytest.mark.gl
def test_motion_blur_is_recorded_and_replays_to_the_same_pixels(frames, tmp_path):
    spec = _scene(MotionBlurSpec(SAMPLES, SHUTTER))
    record = scene_to_dict(spec, tmp_path)
    assert record["sequence"]["motion_blur"] == {"samples": SAMPLES, "shutter": SHUTTER}
    assert "motion_blur" not in scene_to_dict(_scene(None), tmp_path)["sequence"]
    again = scene_from_dict(record, tmp_path)
    assert again.sequence == spec.sequence
    assert np.array_equal(frames.render(again).rgb, frames.render(spec).rgb)


def test_sequences_record_the_configured_motion_blur_and_none_when_off():
    config = load_config(CONFIG)
    assets = load_config_assets(config)
    scene = sample_scene(config, assets.catalog, seed=0, index=0, distractors=assets.distractors)
    start = start_sequence(config.sequence, scene, seed=0, sequence=0)
    assert start.sequence.motion_blur == MotionBlurSpec(SAMPLES, SHUTTER)
    # Sub-frame k of n at t + shutter * ((k + 1/2) / n - 1/2), worked out by hand: 16 samples over half
    # a frame are 1/32 frame apart, centred on t.
    sixteenths = [-0.234375, -0.203125, -0.171875, -0.140625, -0.109375, -0.078125, -0.046875, -0.015625]
    assert start.sequence.motion_blur.offsets() == pytest.approx(sixteenths + [-x for x in reversed(sixteenths)])
    assert MotionBlurSpec(2, 0.5).offsets() == pytest.approx((-0.125, 0.125))
    assert MotionBlurSpec(4, 1.0).offsets() == pytest.approx((-0.375, -0.125, 0.125, 0.375))
    off = load_config({**CONFIG, "sequence": {"frames_per_sequence": 2}})
    assert start_sequence(off.sequence, scene, seed=0, sequence=0).sequence.motion_blur is None
    assert "motion_blur" not in off.to_dict()["sequence"]
    assert config.to_dict()["sequence"]["motion_blur"] == {"samples": SAMPLES, "shutter": SHUTTER}
    assert load_config(config.to_dict()) == config
    # Off is the same start as before motion blur existed: the other sampled values do not move.
    assert replace(start.sequence, motion_blur=None) == start_sequence(off.sequence, scene, seed=0, sequence=0).sequence


def test_thrown_objects_blur_along_their_recorded_trajectory_between_frames():
    # Two recorded frames: a quarter turn about z and a 1 m step along x. Half-way (a sub-frame
    # instant of motion blur) the object has turned 45 degrees and moved 0.5 m.
    turn = np.eye(4)
    turn[:3, :3] = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    turn[:3, 3] = [1.0, 0.0, 0.2]
    start = np.eye(4)
    start[2, 3] = 0.2
    trajectory = (start.tolist(), turn.tolist())
    half = trajectory_pose(trajectory, 0.5)
    c = np.sqrt(0.5)
    assert np.allclose(half[:3, :3], [[c, -c, 0.0], [c, c, 0.0], [0.0, 0.0, 1.0]], atol=1e-12)
    assert np.allclose(half[:3, 3], [0.5, 0.0, 0.2], atol=1e-12)
    assert np.array_equal(trajectory_pose(trajectory, 1.0), turn)
    assert np.array_equal(trajectory_pose(trajectory, 3.7), turn)  # past the end: the last pose
    assert np.array_equal(trajectory_pose(trajectory, -0.4), start)


def test_thrown_objects_turn_about_their_centre_of_mass_between_frames():
    # The origin sits 0.3 m from the centre of mass (along the object's x). Between two recorded
    # frames the centre of mass moves 1 m along world x while the object turns a quarter turn about
    # z through it, as Bullet moves a body. Half-way the centre of mass is on the straight line
    # (0.5 m along), the object has turned 45 degrees, and the origin is on the arc of radius 0.3 m
    # about the centre of mass, not on the chord between its two positions (0.21 m from it).
    com_m = np.array([-0.3, 0.0, 0.0])
    quarter = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    start, end = np.eye(4), np.eye(4)
    start[:3, 3] = [0.3, 0.0, 0.2]  # centre of mass at (0, 0, 0.2)
    end[:3, :3] = quarter
    end[:3, 3] = np.array([1.0, 0.0, 0.2]) - quarter @ com_m  # centre of mass at (1, 0, 0.2)
    half = trajectory_pose((start, end), 0.5, com_m)
    c = np.sqrt(0.5)
    turned = np.array([[c, -c, 0.0], [c, c, 0.0], [0.0, 0.0, 1.0]])
    assert np.allclose(half[:3, :3], turned, atol=1e-12)
    com_half = half[:3, :3] @ com_m + half[:3, 3]
    assert np.allclose(com_half, [0.5, 0.0, 0.2], atol=1e-12)
    assert np.allclose(half[:3, 3], [0.5 + 0.3 * c, 0.3 * c, 0.2], atol=1e-12)
    assert np.linalg.norm(half[:3, 3] - com_half) == pytest.approx(0.3, abs=1e-12)
    chord = (start[:3, 3] + end[:3, 3]) / 2
    assert np.linalg.norm(chord - com_half) == pytest.approx(0.3 * c, abs=1e-12)
    for k in range(1, 8):  # every sub-frame instant keeps the centre of mass on its straight line
        pose = trajectory_pose((start, end), k / 8, com_m)
        assert np.allclose(pose[:3, :3] @ com_m + pose[:3, 3], [k / 8, 0.0, 0.2], atol=1e-12)
