"""Placement "physics": settled piles checked against FCL on the render meshes (an independent
collision library), determinism across processes and worker counts, replay without PyBullet, and a
clear refusal of every bad physics value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from tests.helpers import child_env
from vizsynth.assets import MeshLibrary
from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import load_config
from vizsynth.errors import ConfigError, PlacementError
from vizsynth.sampling import sample_scene
from vizsynth.scene import scene_to_dict

fcl = pytest.importorskip("fcl")
pytest.importorskip("pybullet")

TOLERANCE_M = 0.002
ROOT = Path(__file__).resolve().parents[2]
# Convex primitives only: their render meshes equal their collision hulls, so the FCL checks below
# test the simulation, not the hull approximation of concave shapes.
PILE = {
    "objects": {
        "placement": "physics", "count": {"uniform": [3, 5]}, "primitive_size_m": {"uniform": [0.03, 0.06]},
        "assets": [{"primitive": p} for p in ("cube", "sphere", "cylinder", "cone", "capsule")],
        "physics": {"container": {"size_m": [0.2, 0.16], "wall_height_m": 0.2, "wall_thickness_m": 0.01}},
    },
    "distractors": {"count": {"uniform": [0, 2]}, "size_m": {"uniform": [0.03, 0.05]},
                    "assets": [{"primitive": "cube"}, {"primitive": "sphere"}]},
    "image": {"width": 32, "height": 24},
}


def _convex(mesh: trimesh.Trimesh) -> fcl.CollisionObject:
    faces = np.hstack([np.full((len(mesh.faces), 1), 3), mesh.faces]).ravel()
    return fcl.CollisionObject(fcl.Convex(np.asarray(mesh.vertices), len(mesh.faces), faces))


def _penetration(a: fcl.CollisionObject, b: fcl.CollisionObject) -> float:
    request = fcl.CollisionRequest(enable_contact=True, num_max_contacts=1, gjk_solver_type=fcl.GJKSolverType.GST_LIBCCD)
    result = fcl.CollisionResult()
    return max((c.penetration_depth for c in result.contacts), default=0.0) if fcl.collide(a, b, request, result) else 0.0


def _distance(a: fcl.CollisionObject, b: fcl.CollisionObject) -> float:
    return fcl.distance(a, b, fcl.DistanceRequest(), fcl.DistanceResult())


def _world_mesh(obj, library: MeshLibrary) -> trimesh.Trimesh:
    mesh = library.get(primitive=obj.primitive, mesh=obj.mesh).copy()
    mesh.apply_scale(obj.mesh_scale)
    mesh.apply_transform(obj.obj_to_world)
    return mesh


@pytest.fixture(scope="module")
def piles():
    """100 scenes, and each frame's settled drops (masses, friction) as settle returned them."""
    import vizsynth.sampling.physics as physics

    config = load_config(PILE)
    assets = load_config_assets(config, check_images=False)
    settle, drops = physics.settle, {}

    def recording(*args, index, **kwargs):
        poses, drawn = settle(*args, index=index, **kwargs)
        drops[index] = (poses, drawn)
        return poses, drawn

    physics.settle = recording  # place_physics looks settle up at call time
    try:
        scenes = [sample_scene(config, assets.catalog, seed=3, index=i, distractors=assets.distractors)
                  for i in range(100)]
    finally:
        physics.settle = settle
    return config, assets, scenes, drops


def test_100_piles_never_interpenetrate_and_stay_in_the_bin_supported(piles):
    config, assets, scenes, _ = piles
    c = config.objects.physics.container
    inside = np.array(c.size_m) / 2 - c.wall_thickness_m
    from vizsynth.assets.primitives import bin_boxes, bin_name

    walls = [fcl.CollisionObject(fcl.Box(*extents), fcl.Transform(centre))
             for centre, extents in bin_boxes(bin_name(*c.size_m, c.wall_height_m, c.wall_thickness_m))]
    stacked = 0
    for index, scene in enumerate(scenes):
        bins = [o for o in scene.objects if o.primitive.startswith("bin:")]
        assert len(bins) == 1 and bins[0].distractor, f"frame {index}: one unlabelled bin"
        moving = [o for o in scene.objects if o is not bins[0]]
        meshes = [_world_mesh(o, assets.library) for o in moving]
        assert all(m.is_convex for m in meshes)
        shapes = [_convex(m) for m in meshes]
        for i in range(len(shapes)):
            lowest = meshes[i].vertices[:, 2].min()
            assert np.all(np.abs(meshes[i].vertices[:, :2]) <= inside + TOLERANCE_M), f"frame {index}: object {i + 1} outside"
            assert lowest >= c.wall_thickness_m - TOLERANCE_M, f"frame {index}: object {i + 1} sinks into the base"
            for j in range(i + 1, len(shapes)):
                depth = _penetration(shapes[i], shapes[j])
                assert depth <= TOLERANCE_M, f"frame {index}: objects {i + 1} and {j + 1} overlap by {depth * 1000:.2f} mm"
            on_floor = lowest <= c.wall_thickness_m + TOLERANCE_M
            touching = [_distance(shapes[i], shapes[j]) for j in range(len(shapes)) if j != i]
            touching += [_distance(shapes[i], wall) for wall in walls]
            stacked += not on_floor
            assert on_floor or min(touching) <= TOLERANCE_M, (
                f"frame {index}: object {i + 1} floats: lowest point {lowest:.4f} m, nearest contact "
                f"{min(touching) * 1000:.1f} mm"
            )
    assert stacked >= 20, f"only {stacked} objects rest on others: too few piles to test"


# The at-rest check re-simulates every other pile (50): at half the engine's time step a second of
# simulation costs twice the engine's own steps.
REST_CHECK_PILES = range(0, 100, 2)


def _resimulated_moves(scene, drawn, library: MeshLibrary, *, step_s: float, seconds: float,
                       solver_iterations: int) -> tuple[list[float], list[float]]:
    """Each moving object's largest vertex move (m) and its speed at the end (m/s, |v| + |w| * radius),
    after ``seconds`` of simulation from its recorded pose at zero speed, in a world built here and
    not by vizsynth: its own PyBullet client, the plane z = 0, the bin's five boxes at the bin's pose,
    each object's render mesh (convex) about the mesh's centre of mass, with the mass and contact
    properties it settled with (``drawn``)."""
    import pybullet
    from scipy.spatial.transform import Rotation

    from vizsynth.assets.primitives import bin_boxes

    client = pybullet.connect(pybullet.DIRECT)
    try:
        pybullet.setPhysicsEngineParameter(fixedTimeStep=step_s, numSolverIterations=solver_iterations,
                                           deterministicOverlappingPairs=1, physicsClientId=client)
        pybullet.setGravity(0, 0, -9.81, physicsClientId=client)
        plane = pybullet.createCollisionShape(pybullet.GEOM_PLANE, physicsClientId=client)
        statics = [pybullet.createMultiBody(0, plane, physicsClientId=client)]
        (container,) = [o for o in scene.objects if o.primitive.startswith("bin:")]
        height = float(container.primitive.split(":")[3])
        for centre, extents in bin_boxes(container.primitive):
            box = pybullet.createCollisionShape(pybullet.GEOM_BOX, halfExtents=(extents / 2).tolist(),
                                                physicsClientId=client)
            position = container.obj_to_world[:3, :3] @ (centre - [0.0, 0.0, height / 2]) + container.obj_to_world[:3, 3]
            statics.append(pybullet.createMultiBody(0, box, basePosition=position.tolist(), physicsClientId=client))
        for body in statics:
            pybullet.changeDynamics(body, -1, lateralFriction=1.0, restitution=0.0, physicsClientId=client)
        moving = [o for o in scene.objects if o is not container]
        bodies = []
        for obj, drop in zip(moving, drawn):
            mesh = _world_mesh(obj, library)  # in the world; its centre of mass, rotated, is the body's frame
            com = np.asarray(mesh.center_mass)
            local = (np.asarray(mesh.vertices) - com) @ obj.obj_to_world[:3, :3]
            shape = pybullet.createCollisionShape(pybullet.GEOM_MESH, vertices=local.tolist(), physicsClientId=client)
            uid = pybullet.createMultiBody(
                drop.mass_kg, shape, basePosition=com.tolist(),
                baseOrientation=Rotation.from_matrix(obj.obj_to_world[:3, :3]).as_quat().tolist(), physicsClientId=client)
            pybullet.changeDynamics(uid, -1, lateralFriction=drop.friction, rollingFriction=drop.rolling_friction,
                                    spinningFriction=drop.rolling_friction, restitution=drop.restitution,
                                    physicsClientId=client)
            bodies.append((uid, local, np.asarray(mesh.vertices)))
        for _ in range(round(seconds / step_s)):
            pybullet.stepSimulation(physicsClientId=client)
        moves, speeds = [], []
        for uid, local, before in bodies:
            position, quaternion = pybullet.getBasePositionAndOrientation(uid, physicsClientId=client)
            rotation = np.asarray(pybullet.getMatrixFromQuaternion(quaternion)).reshape(3, 3)
            moves.append(float(np.linalg.norm(local @ rotation.T + position - before, axis=1).max()))
            v, w = pybullet.getBaseVelocity(uid, physicsClientId=client)
            speeds.append(float(np.linalg.norm(v) + np.linalg.norm(w) * np.linalg.norm(local, axis=1).max()))
        return moves, speeds
    finally:
        pybullet.disconnect(client)


def test_50_piles_stay_at_rest_when_simulated_again_at_half_the_time_step(piles):
    """Every object of 50 piles is at rest, checked apart from the engine's own rest probe: started
    again from its recorded pose at zero speed, in a world this test builds (render meshes, not the
    engine's hulls) and stepped at half the configured time step for 1 s, no point of any object
    moves 2 mm and none is still moving at the end."""
    from vizsynth.sampling.physics import SOLVER_ITERATIONS

    config, assets, scenes, drops = piles
    physics = config.objects.physics
    total = 0
    for index in REST_CHECK_PILES:
        scene = scenes[index]
        poses, drawn = drops[index]
        moving = [o for o in scene.objects if not o.primitive.startswith("bin:")]
        assert all(np.array_equal(p, o.obj_to_world) for p, o in zip(poses, moving))
        moves, speeds = _resimulated_moves(scene, drawn, assets.library, step_s=physics.time_step_s / 2, seconds=1.0,
                                           solver_iterations=SOLVER_ITERATIONS)
        total += len(moves)
        for k, (moved, speed) in enumerate(zip(moves, speeds)):
            assert moved < TOLERANCE_M, f"frame {index}: object {k + 1} moved {moved * 1000:.2f} mm: not at rest"
            assert speed < physics.rest_speed_m_s, f"frame {index}: object {k + 1} still moving at {speed:.3g} m/s after 1 s"
    assert total >= 250, f"only {total} objects: too few to test"


def _frame_json(index: int) -> str:
    config = load_config(PILE)
    assets = load_config_assets(config, check_images=False)
    return json.dumps(scene_to_dict(sample_scene(config, assets.catalog, seed=3, index=index,
                                                 distractors=assets.distractors)))


def test_same_frame_in_a_new_process_is_byte_identical(piles):
    """Frame 57 sampled after 99 other drops in this process equals frame 57 alone in a fresh one."""
    _, _, scenes, _ = piles
    here = json.dumps(scene_to_dict(scenes[57]))
    code = "import sys; from tests.sampling.test_physics import _frame_json; sys.stdout.write(_frame_json(57))"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                           env=child_env())
    assert fresh.stdout == here


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file vizsynth wrote except the manifest (which records timings)."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    import vizsynth

    out = tmp_path_factory.mktemp("physics") / "w1"
    assert vizsynth.generate(PILE, out, num_frames=8, seed=1, workers=1, progress=False).completed == 8
    return out


@pytest.mark.gl
def test_one_and_two_workers_write_identical_frames(reference, tmp_path):
    import vizsynth

    vizsynth.generate(PILE, tmp_path / "w2", num_frames=8, seed=1, workers=2, progress=False)
    two = _tree(tmp_path / "w2")
    assert len([f for f in two if f.startswith("frames")]) == 8 and two == _tree(reference)


@pytest.mark.gl
def test_killed_job_resumes_to_the_uninterrupted_result(reference, tmp_path):
    import signal
    import time

    import yaml

    out, config = tmp_path / "data", tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(PILE))
    cmd = [sys.executable, "-m", "vizsynth", "generate", str(config), "--out", str(out), "-n", "8", "--seed", "1",
           "--no-progress"]
    env = child_env()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while len(list((out / "frames").rglob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= len(list((out / "frames").rglob("*.json"))) < 8, "killed part-way, or the test means nothing"
    assert subprocess.run([*cmd, "--resume"], capture_output=True, cwd=ROOT, env=env).returncode == 0
    assert _tree(out) == _tree(reference)


@pytest.mark.gl
def test_replay_needs_no_pybullet(tmp_path):
    import vizsynth

    vizsynth.generate(PILE, tmp_path / "data", num_frames=2, seed=4, progress=False)
    code = ("import sys; sys.modules['pybullet'] = None\n"
            "from vizsynth.cli import main\n"
            f"sys.exit(main(['replay', {str(tmp_path / 'data')!r}, '--frame', '1', '--out', {str(tmp_path / 'r')!r}]))")
    replayed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                              env=child_env())
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "4/4 files byte-identical" in replayed.stdout


def test_without_pybullet_physics_fails_with_the_install_hint(tmp_path):
    code = ("import sys; sys.modules['pybullet'] = None\n"
            "from vizsynth.cli import main\n"
            "sys.exit(main(['generate', '--out', sys.argv[1], '-n', '1', '--set', 'objects.placement=physics',"
            " '--set', 'objects.primitive_size_m=0.05', '--set', 'image.width=32', '--set', 'image.height=24']))")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                         cwd=ROOT, env=child_env())
    assert run.returncode != 0
    assert "pip install 'vizsynth[physics]'" in run.stderr, run.stderr


def test_importing_vizsynth_does_not_import_pybullet():
    code = ("import sys, vizsynth, vizsynth.sampling.scene_sampler, vizsynth.sampling.physics, vizsynth.cli\n"
            "sys.exit('pybullet' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env()).returncode == 0


def test_configs_without_physics_print_as_before():
    assert "physics" not in load_config(None).to_dict()["objects"]
    resolved = load_config({"objects": {"placement": "physics"}}).to_dict()
    assert resolved["objects"]["physics"]["max_steps"] == 2000
    assert load_config(resolved).to_dict() == resolved


@pytest.mark.parametrize(("key", "value", "message"), [
    ("mass_kg", 0, r"mass_kg.*> 0"),
    ("mass_kg", {"uniform": [-1, 1]}, r"mass_kg.*> 0"),
    ("friction", -0.1, r"friction.*>= 0"),
    ("friction", 2.5, r"friction.*<= 2"),
    ("rolling_friction", -1, r"rolling_friction.*>= 0"),
    ("restitution", 1.5, r"restitution.*<= 1"),
    ("drop_height_m", -0.1, r"drop_height_m.*>= 0"),
    ("drop_extent_m", [0, 1], r"drop_extent_m"),
    ("max_steps", 0, r"max_steps"),
    ("rest_speed_m_s", 0, r"rest_speed_m_s"),
    ("time_step_s", 0.5, r"time_step_s"),
    ("max_tries", 0, r"max_tries"),
    ("container", {"wall_thickness_m": 0.2}, r"wall_thickness_m .*leaves no inside"),
    ("container", {"size_m": [0.3, -1]}, r"size_m"),
    ("container", {"wall_height_m": 0}, r"wall_height_m"),
    ("container", {"category": " "}, r"category"),
    ("collision", "mesh", r"collision"),
    ("vhacd_resolution", 100, r"vhacd_resolution"),
    ("vhacd_concavity", 2, r"vhacd_concavity"),
])
def test_bad_physics_values_are_refused_naming_the_field(key, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"objects": {"placement": "physics", "physics": {key: value}}})


def _physics_scene(objects: dict, index: int):
    config = load_config({"objects": {"placement": "physics", **objects}})
    assets = load_config_assets(config, check_images=False)
    return sample_scene(config, assets.catalog, seed=0, index=index, distractors=assets.distractors)


def test_a_bin_too_small_for_the_pile_names_the_frame_and_the_limit():
    with pytest.raises(PlacementError, match=r"frame 4: the container is too small .* above the limit of 0.00\d+ m\^3"):
        _physics_scene({"count": 40, "primitive_size_m": 0.08, "assets": [{"primitive": "cube"}],
                        "physics": {"container": {"size_m": [0.2, 0.2], "wall_height_m": 0.1}}}, 4)


def test_an_object_wider_than_the_bin_names_the_frame_and_the_limit():
    with pytest.raises(PlacementError, match=r"frame 2: the container is too small for object 1: .* limit of 0.080 m"):
        _physics_scene({"count": 1, "primitive_size_m": 0.2, "assets": [{"primitive": "sphere"}],
                        "physics": {"container": {"size_m": [0.1, 0.2], "wall_height_m": 0.3}}}, 2)


def test_a_step_bound_too_low_to_settle_fails_naming_the_frame_and_tries():
    with pytest.raises(PlacementError, match=r"frame 1: no physics drop settled in 2 tries .*still moving"):
        _physics_scene({"count": 3, "primitive_size_m": 0.05, "physics": {"max_steps": 5, "max_tries": 2}}, 1)


def test_a_labelled_bin_gets_a_category_of_its_own():
    config = load_config({"objects": {"placement": "physics", "count": 2, "primitive_size_m": 0.05,
                                      "physics": {"container": {"category": "tote"}}}})
    assets = load_config_assets(config, check_images=False)
    assert assets.catalog.categories[-1] == "tote"
    scene = sample_scene(config, assets.catalog, seed=0, index=0, distractors=assets.distractors)
    assert [(o.category, o.distractor) for o in scene.objects][-1] == ("tote", False)


def _u_shape() -> trimesh.Trimesh:
    """A U of three boxes, 1 unit wide, open upwards: a channel 0.5 wide and 0.75 deep above a 0.25 base."""
    parts = []
    for extents, centre in [((1, 1, 0.25), (0, 0, -0.375)), ((0.25, 1, 0.75), (-0.375, 0, 0.125)),
                            ((0.25, 1, 0.75), (0.375, 0, 0.125))]:
        box = trimesh.creation.box(extents=extents)
        box.apply_translation(centre)
        parts.append(box)
    return trimesh.util.concatenate(parts)


def _counting_vhacd(mp: pytest.MonkeyPatch) -> list:
    """Replaces pybullet.vhacd by a wrapper that records each call's output file; returns that list."""
    import pybullet

    calls, vhacd = [], pybullet.vhacd

    def counting(source, result, *args, **kwargs):
        calls.append(result)
        return vhacd(source, result, *args, **kwargs)

    mp.setattr(pybullet, "vhacd", counting)
    return calls


@pytest.fixture(scope="module")
def u_assets(tmp_path_factory):
    """A U-shaped mesh asset (0.1 m) and a 3 cm cube, loaded for collision vhacd with a fresh cache
    folder, twice; and the number of V-HACD runs the two loads made."""
    folder = tmp_path_factory.mktemp("vhacd")
    _u_shape().export(folder / "u.obj")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIZSYNTH_CACHE_DIR", str(folder / "cache"))
        calls = _counting_vhacd(mp)
        config = load_config({"objects": {
            "placement": "physics", "count": 2, "primitive_size_m": 0.03,
            "assets": [{"mesh": str(folder / "u.obj"), "category": "u", "unit_scale_m": 0.1}, {"primitive": "cube"}],
            "physics": {"collision": "vhacd", "vhacd_resolution": 50000, "container": {"enabled": False}},
        }, "distractors": {"count": 0}})
        assets = load_config_assets(config, check_images=False)
        again = load_config_assets(config, check_images=False)
    return config, assets, again, len(calls), folder


def test_vhacd_decomposition_is_cached_per_asset_and_reused(u_assets):
    config, assets, again, runs, folder = u_assets
    u = str(folder / "u.obj")
    path = Path(assets.catalog.parts_file(primitive=None, mesh=u))
    assert path.parent == folder / "cache" / "vhacd" and path.is_file()
    assert runs == 2, "the U and the cube decomposed once each; loading the assets again read the cache"
    assert again.catalog.parts_file(primitive=None, mesh=u) == str(path)
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        Path(assets.catalog.parts_file(primitive=n, mesh=m)).name for n, m in ((None, u), ("cube", None)))
    parts = sum(line.startswith("o ") for line in path.read_text().splitlines())
    assert parts >= 3, f"a U needs at least 3 convex parts (base, two walls), V-HACD made {parts}"
    from vizsynth.assets import decomposition

    modified = path.stat().st_mtime_ns
    mesh = assets.library.get(mesh=u)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIZSYNTH_CACHE_DIR", str(folder / "cache"))
        calls = _counting_vhacd(mp)
        assert decomposition.convex_parts_file(mesh, resolution=50000, concavity=config.objects.physics.vhacd_concavity,
                                               name="u") == str(path)
        assert calls == [] and path.stat().st_mtime_ns == modified, "read, not recomputed"
        # A setting the cache has no file for runs V-HACD: the counter sees runs.
        decomposition.convex_parts_file(mesh, resolution=60000, concavity=config.objects.physics.vhacd_concavity,
                                        name="u")
        assert len(calls) == 1
    key = decomposition.decomposition_key
    assert key(mesh, 50000, 0.0025) != key(mesh, 60000, 0.0025) != key(mesh.copy().apply_scale(2), 60000, 0.0025)


def _drop_cube_into_u(assets, collision: str, physics) -> float:
    """The lowest z of a cube dropped over the U's channel, after settling; the U stands open upwards on z = 0."""
    from vizsynth.sampling.physics import Drop, body_of, simulate

    u, scale = next(e for e in assets.catalog.entries if e.mesh), 0.1
    cube = next(e for e in assets.catalog.entries if e.primitive == "cube")
    parts = (lambda e: e.parts_file) if collision == "vhacd" else (lambda e: None)
    bodies = [body_of(u.hull, scale, parts(u)), body_of(cube.hull, 0.03, parts(cube))]
    poses = []
    for body, z_bottom in zip(bodies, (0.0005, 0.1)):
        pose = np.eye(4)
        pose[2, 3] = z_bottom - body.hull[:, 2].min()
        poses.append(pose)
    drops = [Drop(pose, 0.2, 0.5, 0.0, 0.0) for pose in poses]
    settled, _, _, at_rest = simulate(bodies, drops, physics)
    assert at_rest
    return float((bodies[1].hull @ settled[1][:3, :3].T + settled[1][:3, 3])[:, 2].min())


def test_only_vhacd_lets_a_cube_fall_into_a_u(u_assets):
    config, assets, _, _, _ = u_assets
    physics = config.objects.physics
    # The U (0.1 m) has its base top at 0.025 m and its walls' top at 0.1 m; the channel is 5 cm wide.
    assert _drop_cube_into_u(assets, "hull", physics) >= 0.1 - TOLERANCE_M, "the hull closes the channel"
    lowest = _drop_cube_into_u(assets, "vhacd", physics)
    # V-HACD approximates (its parts leave wedges of a few voxels, 1/64 of the U, in the channel's
    # corners), so the cube rests in the channel, wholly below the walls' top, not exactly on the base.
    assert 0.025 - TOLERANCE_M <= lowest < 0.1 - 0.03, f"the cube should rest inside the U's channel, not at {lowest:.4f} m"


def test_vhacd_placement_settles_with_the_decomposition(u_assets):
    config, assets, _, _, _ = u_assets
    scene = sample_scene(config, assets.catalog, seed=0, index=0, distractors=assets.distractors)
    assert len(scene.objects) == 2 and all(o.obj_to_world[2, 3] > 0 for o in scene.objects)
