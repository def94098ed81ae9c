"""sequence.object_motion "physics": thrown objects simulated once per sequence, recorded per frame.

Checked against independent oracles: free flight follows the parabola of constant acceleration g
(Bullet's damping off), the neighbours a frame's record gives (what optical flow uses) are one frame
interval away on that parabola, FCL on the render meshes finds no interpenetration at any frame,
a frame's record window gives the neighbouring frames' own poses, and a frame is the same bytes
sampled alone, in a new process, or by 1 or 2 workers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import load_config
from vizsynth.errors import ConfigError
from vizsynth.motion import scene_at
from vizsynth.sampling import sample_scene
from vizsynth.sampling.motion_sampler import start_sequence
from vizsynth.scene import scene_to_dict

fcl = pytest.importorskip("fcl")
pytest.importorskip("pybullet")

from tests.helpers import child_env  # noqa: E402
from tests.sampling.test_physics import (  # noqa: E402
    TOLERANCE_M,
    _convex,
    _distance,
    _penetration,
    _tree,
    _world_mesh,
)

ROOT = Path(__file__).resolve().parents[2]
G_M_S2 = 9.81
FRAMES = 24
# Convex primitives settled in a bin, then thrown upwards and sideways: they fly, hit each other and
# the walls, land and roll.
THROWN = {
    "objects": {"placement": "physics", "count": 4, "primitive_size_m": {"uniform": [0.04, 0.06]},
                "assets": [{"primitive": p} for p in ("cube", "sphere", "cylinder", "cone", "capsule")],
                "physics": {"container": {"size_m": [0.2, 0.16], "wall_height_m": 0.2, "wall_thickness_m": 0.01}}},
    "distractors": {"count": 0},
    "image": {"width": 32, "height": 24},
    "sequence": {"frames_per_sequence": FRAMES, "fps": 24, "object_motion": "physics",
                 "object_velocity_m_per_s": [{"uniform": [-0.5, 0.5]}, {"uniform": [-0.5, 0.5]}, {"uniform": [0.5, 1.5]}],
                 "object_angular_speed_deg_per_s": {"uniform": [0, 360]}},
}


def _start(config, assets, sequence: int):
    scene = sample_scene(config, assets.catalog, seed=5, index=sequence, distractors=assets.distractors)
    return start_sequence(config.sequence, scene, seed=5, sequence=sequence, physics=config.objects.physics,
                          catalogs=(assets.catalog, assets.distractors))


@pytest.fixture(scope="module")
def thrown():
    config = load_config(THROWN)
    assets = load_config_assets(config, check_images=False)
    return config, assets, [_start(config, assets, s) for s in range(6)]


def test_thrown_objects_never_interpenetrate_at_any_frame(thrown):
    """No two objects, and no object and the bin's base or walls, overlap by more than 2 mm at any frame."""
    from vizsynth.assets.primitives import bin_boxes, bin_name

    config, assets, starts = thrown
    c = config.objects.physics.container
    walls = [fcl.CollisionObject(fcl.Box(*extents), fcl.Transform(centre))
             for centre, extents in bin_boxes(bin_name(*c.size_m, c.wall_height_m, c.wall_thickness_m))]
    contacts = 0
    offsets = 0
    for s, start in enumerate(starts):
        assert len(start.sequence.objects) == 4 and all(len(m.trajectory) == FRAMES for m in start.sequence.objects)
        for motion in start.sequence.objects:
            obj = next(o for o in start.objects if o.instance_id == motion.instance_id)
            com = np.asarray(assets.catalog.hull(primitive=obj.primitive, mesh=None).center_mass) * obj.mesh_scale
            np.testing.assert_allclose(motion.com_m, com, atol=1e-12, err_msg="the simulated centre of mass is recorded")
            offsets += np.linalg.norm(com) > 1e-3
        for t in range(FRAMES):
            moving = [o for o in scene_at(start, t).objects if o.primitive != "floor" and not o.primitive.startswith("bin:")]
            meshes = [_world_mesh(o, assets.library) for o in moving]
            shapes = [_convex(m) for m in meshes]
            for i in range(len(shapes)):
                lowest = meshes[i].vertices[:, 2].min()
                assert lowest >= -TOLERANCE_M, f"sequence {s} frame {t}: object {i + 1} {-lowest * 1000:.1f} mm into the ground"
                for wall in walls:
                    depth = _penetration(shapes[i], wall)
                    assert depth <= TOLERANCE_M, f"sequence {s} frame {t}: object {i + 1} {depth * 1000:.2f} mm into the bin"
                for j in range(i + 1, len(shapes)):
                    depth = _penetration(shapes[i], shapes[j])
                    contacts += depth > 0 or _distance(shapes[i], shapes[j]) <= TOLERANCE_M
                    assert depth <= TOLERANCE_M, f"sequence {s} frame {t}: objects {i + 1}, {j + 1} overlap {depth * 1000:.2f} mm"
    assert contacts >= 20, f"only {contacts} object pairs in contact in all frames: too few to test"
    assert offsets >= 1, "no object whose origin is away from its centre of mass (cones): too few to test"


# One sphere on a table thrown straight up at 2 m/s, spinning.
THROWN_UP = {
    "objects": {"placement": "tabletop", "count": 1, "primitive_size_m": 0.05, "assets": [{"primitive": "sphere"}]},
    "distractors": {"count": 0}, "image": {"width": 32, "height": 24},
    "sequence": {"frames_per_sequence": 16, "fps": 24, "object_motion": "physics",
                 "object_velocity_m_per_s": [0.0, 0.0, 2.0], "object_angular_speed_deg_per_s": 180},
}


def test_free_flight_is_a_parabola_of_g():
    """A sphere thrown straight up at 2 m/s from a table, spinning, is in free flight until it lands
    at 2 * 2 / g = 0.41 s (frame 9.8 at 24 fps): from frame 1 (after any contact of the launch) to
    frame 9 its centre moves with constant acceleration (0, 0, -g), second differences over frames
    -g dt^2 in z and 0 in x, y; then it has landed and stays on the table."""
    config = load_config(THROWN_UP)
    assets = load_config_assets(config, check_images=False)
    dt = 1.0 / 24
    for sequence in range(2):
        start = _start(config, assets, sequence)
        (motion,) = start.sequence.objects
        obj = next(o for o in start.objects if o.instance_id == motion.instance_id)
        hull = assets.catalog.hull(primitive="sphere", mesh=None)
        com = np.append(np.asarray(hull.center_mass) * obj.mesh_scale, 1.0)
        centres = np.array([(np.asarray(pose) @ com)[:3] for pose in motion.trajectory])
        for t in range(2, 9):
            second = (centres[t + 1] - 2 * centres[t] + centres[t - 1]) / dt**2
            np.testing.assert_allclose(second, [0.0, 0.0, -G_M_S2], atol=1e-3 * G_M_S2,
                                       err_msg=f"sequence {sequence} frame {t}")
        assert centres[5, 2] - centres[0, 2] > 0.15, "it flew up (2 m/s for 0.2 s, less g: ~0.21 m)"
        np.testing.assert_allclose(centres[12:, 2], centres[0, 2], atol=0.003, err_msg="landed back on the table")
        spin = np.asarray(motion.trajectory[4])[:3, :3] @ np.asarray(motion.trajectory[0])[:3, :3].T
        angle = np.rad2deg(np.arccos(np.clip((np.trace(spin) - 1) / 2, -1, 1)))
        assert angle == pytest.approx(180 * 4 * dt, abs=1.0), "spinning at 180 deg/s in flight"


def test_a_frames_neighbour_from_its_record_window_is_the_next_frames_own_pose(thrown):
    """Optical flow moves frame t's points by scene_at(frame t's record, t +- 1), which reads frame t's
    trajectory window (frames t-1..t+1); that must be the pose the neighbouring frame itself renders
    with, cut from the whole simulated trajectory, bit for bit."""
    from vizsynth.scene import scene_from_dict

    _, _, starts = thrown
    start = starts[0]
    records = [scene_from_dict(json.loads(json.dumps(scene_to_dict(scene_at(start, t)))), ROOT) for t in range(FRAMES)]
    for t in range(FRAMES):
        for motion in records[t].sequence.objects:
            assert motion.trajectory_start == max(0, t - 1)
            assert len(motion.trajectory) == min(t + 1, FRAMES - 1) - max(0, t - 1) + 1
        for step in (1, -1):
            if not 0 <= t + step < FRAMES:
                continue
            neighbour = scene_at(records[t], t + step)
            for a, b, c in zip(neighbour.objects, records[t + step].objects, scene_at(start, t + step).objects):
                np.testing.assert_array_equal(a.obj_to_world, b.obj_to_world)
                np.testing.assert_array_equal(a.obj_to_world, c.obj_to_world)
    moved = [np.abs(records[5].objects[k].obj_to_world - records[0].objects[k].obj_to_world).max() for k in range(4)]
    assert min(moved) > 0.01, "every thrown object moves"


def test_a_frames_record_gives_its_neighbours_one_frame_interval_away_in_free_flight():
    """What flow uses, the neighbours of frame t from frame t's record alone (scene_at(record, t +- 1)),
    are the poses 1/fps later and earlier: for the sphere thrown up at v0 = 2 m/s, the centre of mass
    moves between t and t + 1 by the mean velocity of that interval, v0 - g (t + 1/2) / fps (and
    between t - 1 and t by v0 - g (t - 1/2) / fps), within 0.03 m/s (Bullet's semi-implicit steps lag
    by g * step / 2 = 0.01 m/s); a neighbour one frame off would be g / fps = 0.41 m/s off."""
    from vizsynth.scene import scene_from_dict

    config = load_config(THROWN_UP)
    assets = load_config_assets(config, check_images=False)
    dt = 1.0 / 24
    start = _start(config, assets, 0)
    (motion,) = start.sequence.objects
    hull = assets.catalog.hull(primitive="sphere", mesh=None)

    def centre(spec) -> np.ndarray:
        obj = next(o for o in spec.objects if o.instance_id == motion.instance_id)
        return obj.obj_to_world[:3, :3] @ (np.asarray(hull.center_mass) * obj.mesh_scale) + obj.obj_to_world[:3, 3]

    for t in range(2, 9):  # in flight from frame 1 (after the launch's contact) to frame 9
        record = scene_from_dict(json.loads(json.dumps(scene_to_dict(scene_at(start, t)))), ROOT)
        here = centre(record)
        for step in (1, -1):
            velocity = step * (centre(scene_at(record, t + step)) - here) / dt
            np.testing.assert_allclose(velocity, [0.0, 0.0, 2.0 - G_M_S2 * (t + step / 2) * dt], atol=0.03,
                                       err_msg=f"frame {t}, neighbour {t + step}")


def test_trajectories_survive_the_frame_record_round_trip(thrown):
    from vizsynth.scene import scene_from_dict

    _, _, starts = thrown
    record = scene_to_dict(scene_at(starts[1], 7))
    again = scene_from_dict(json.loads(json.dumps(record)), ROOT)
    assert json.dumps(scene_to_dict(again)) == json.dumps(record)
    for t in (6, 7, 8):
        for a, b in zip(scene_at(again, t).objects, scene_at(starts[1], t).objects):
            np.testing.assert_array_equal(a.obj_to_world, b.obj_to_world)


def test_a_time_outside_a_records_window_is_refused_or_the_held_end_pose(thrown):
    """Frame 7's record holds frames 6..8: other times are refused, naming the window, never guessed;
    past the sequence's ends (the first and last frames' records) the end pose holds, as in the
    whole trajectory."""
    _, _, starts = thrown
    start = starts[1]
    middle = scene_at(start, 7)
    for t, subframe in ((5, 0.0), (9, 0.0), (8, 0.25), (6, -0.25), (0, 0.0)):
        with pytest.raises(ValueError, match=r"trajectory at frames 6\.\.8 of 0\.\.23 only"):
            scene_at(middle, t, subframe)
    from vizsynth.errors import SceneError
    from vizsynth.scene import scene_from_dict

    record = scene_to_dict(middle)
    record["sequence"]["objects"][0]["trajectory_start"] = 10
    with pytest.raises(SceneError, match=r"objects.0.trajectory.*must cover its frame t = 7.*got frames 10\.\.12"):
        scene_from_dict(record, ROOT)
    first, last = scene_at(start, 0), scene_at(start, FRAMES - 1)
    for spec, t, subframe in ((first, 0, -0.25), (first, -3, 0.0), (last, FRAMES - 1, 0.25), (last, FRAMES + 2, 0.0)):
        for a, b in zip(scene_at(spec, t, subframe).objects, scene_at(start, t, subframe).objects):
            np.testing.assert_array_equal(a.obj_to_world, b.obj_to_world)


def test_frame_records_do_not_grow_with_the_sequence_length():
    """Every frame record keeps the same few trajectory frames per object (t-1..t+1) whether its
    sequence has 4 or 12 frames: a record's size does not depend on the sequence's length."""
    lengths, sizes = {}, {}
    for frames in (4, 12):
        config = load_config({**THROWN, "sequence": {**THROWN["sequence"], "frames_per_sequence": frames}})
        assets = load_config_assets(config, check_images=False)
        start = _start(config, assets, 0)
        assert all(len(m.trajectory) == frames for m in start.sequence.objects)
        records = [scene_to_dict(scene_at(start, t)) for t in range(frames)]
        lengths[frames] = [[len(m["trajectory"]) for m in r["sequence"]["objects"]] for r in records]
        sizes[frames] = len(json.dumps(records[1]["sequence"]))
    assert lengths[4] == [[2] * 4, [3] * 4, [3] * 4, [2] * 4]
    assert lengths[12] == [[2] * 4] + [[3] * 4] * 10 + [[2] * 4]
    # Same number of floats; the digits of the floats differ a little between the two simulations.
    assert abs(sizes[12] - sizes[4]) < 0.1 * sizes[4]


def _frame_json(index: int) -> str:
    import vizsynth.pipeline as pipeline

    with pipeline.FrameRenderer(load_config(THROWN), 5) as frames:
        return json.dumps(scene_to_dict(frames.scene(index)))


@pytest.mark.gl
def test_a_frame_sampled_alone_in_a_new_process_equals_it_in_its_sequence(thrown):
    config, assets, starts = thrown
    index = 2 * FRAMES + 17  # sequence 2, t = 17
    here = json.dumps(scene_to_dict(scene_at(starts[2], 17)))
    code = ("import sys; from tests.sampling.test_physics_motion import _frame_json; "
            f"sys.stdout.write(_frame_json({index}))")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                           env=child_env())
    assert fresh.stdout == here


@pytest.mark.gl
def test_one_and_two_workers_write_identical_trajectories(tmp_path):
    import vizsynth

    config = {**THROWN, "sequence": {**THROWN["sequence"], "frames_per_sequence": 2}}
    for workers in (1, 2):
        vizsynth.generate(config, tmp_path / f"w{workers}", num_frames=4, seed=2, workers=workers, progress=False)
    one, two = _tree(tmp_path / "w1"), _tree(tmp_path / "w2")
    records = [f for f in one if f.startswith("frames")]
    assert len(records) == 4 and one == two
    assert all(len(json.loads(one[f])["sequence"]["objects"][0]["trajectory"]) == 2 for f in records)


def test_thrown_objects_need_a_placement_that_starts_them_apart():
    with pytest.raises(ConfigError, match=r"object_motion 'physics' needs objects.placement 'tabletop' or 'physics'"):
        load_config({"sequence": {"frames_per_sequence": 2, "object_motion": "physics"}})
    resolved = load_config(THROWN).to_dict()
    assert resolved["objects"]["physics"]["time_step_s"] == pytest.approx(1 / 240)
    assert load_config(resolved).to_dict() == resolved
