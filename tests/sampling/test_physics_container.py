"""A mesh file as the physics container (``objects.physics.container.mesh``): objects dropped into
an open tray given as an STL file, checked with FCL against the exact triangles of that file (an
independent collision library) and against the tray's known walls and floor; the record replays
without PyBullet; a bad file or contradicting settings are refused naming the field."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import trimesh

from tests.sampling.test_physics import TOLERANCE_M, _convex, _distance, _penetration, _tree, _world_mesh
from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import load_config
from vizsynth.errors import AssetError, ConfigError, PlacementError
from vizsynth.sampling import sample_scene

fcl = pytest.importorskip("fcl")
pytest.importorskip("pybullet")

# The tray, in millimetres: outer 200 x 160 x 100, walls and floor 8 thick, modelled off-centre
# (its file frame is not where it stands: vizsynth must move it onto z = 0, centred on the origin).
OUTER_MM, WALL_MM, OFFSET_MM = (200.0, 160.0, 100.0), 8.0, (30.0, -20.0, 55.0)


def _tray() -> trimesh.Trimesh:
    """An open-topped box of 5 boxes (floor, 4 walls), one triangle mesh: concave, like a real tote."""
    x, y, z = OUTER_MM
    t = WALL_MM
    boxes = [((0, 0, t / 2), (x, y, t)), (((x - t) / 2, 0, z / 2), (t, y, z)), ((-(x - t) / 2, 0, z / 2), (t, y, z)),
             ((0, (y - t) / 2, z / 2), (x - 2 * t, t, z)), ((0, -(y - t) / 2, z / 2), (x - 2 * t, t, z))]
    return trimesh.util.concatenate([
        trimesh.creation.box(extents=e, transform=trimesh.transformations.translation_matrix(np.add(c, OFFSET_MM)))
        for c, e in boxes])


def _config(mesh: str) -> dict:
    return {
        "objects": {
            "placement": "physics", "count": {"uniform": [3, 5]}, "primitive_size_m": {"uniform": [0.03, 0.05]},
            "assets": [{"primitive": p} for p in ("cube", "sphere", "cylinder", "cone", "capsule")],
            "physics": {"container": {"mesh": mesh, "unit_scale_m": 0.001}},
        },
        "distractors": {"count": 0},
        "image": {"width": 32, "height": 24},
    }


@pytest.fixture(scope="module")
def tray_scenes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tray")
    _tray().export(folder / "tray.stl")
    config = load_config(_config(str(folder / "tray.stl")))
    assets = load_config_assets(config, check_images=False)
    scenes = [sample_scene(config, assets.catalog, seed=5, index=i, distractors=assets.distractors) for i in range(10)]
    return folder, assets, scenes


def test_the_mesh_container_stands_on_the_ground_centred_and_unlabelled(tray_scenes):
    folder, assets, scenes = tray_scenes
    for scene in scenes:
        container = scene.objects[-1]
        assert container.mesh == str(folder / "tray.stl") and container.primitive is None
        assert container.mesh_scale == 0.001 and container.distractor and container.category == "container"
        low, high = _world_mesh(container, assets.library).bounds
        assert np.allclose(low, [-0.1, -0.08, 0.0], atol=1e-9) and np.allclose(high, [0.1, 0.08, 0.1], atol=1e-9)


def test_objects_dropped_into_a_mesh_tray_rest_inside_it_without_interpenetration(tray_scenes):
    _, assets, scenes = tray_scenes
    inside = (np.array(OUTER_MM[:2]) / 2 - WALL_MM) / 1000
    floor = WALL_MM / 1000
    stacked = 0
    for index, scene in enumerate(scenes):
        *moving, container = scene.objects
        tray = _world_mesh(container, assets.library)
        # The tray's exact triangles, as FCL's own bounding-volume tree (no hull, no decomposition).
        bvh = fcl.BVHModel()
        bvh.beginModel(len(tray.vertices), len(tray.faces))
        bvh.addSubModel(np.asarray(tray.vertices), np.asarray(tray.faces))
        bvh.endModel()
        walls = fcl.CollisionObject(bvh, fcl.Transform())
        meshes = [_world_mesh(o, assets.library) for o in moving]
        shapes = [_convex(m) for m in meshes]
        for i, (mesh, shape) in enumerate(zip(meshes, shapes)):
            where = f"frame {index}: object {i + 1}"
            assert np.all(np.abs(mesh.vertices[:, :2]) <= inside + TOLERANCE_M), f"{where} is outside the tray's walls"
            lowest = mesh.vertices[:, 2].min()
            assert lowest >= floor - TOLERANCE_M, f"{where} sinks into the tray's floor: lowest point {lowest:.4f} m"
            depth = _penetration(shape, walls)
            assert depth <= TOLERANCE_M, f"{where} enters the tray by {depth * 1000:.2f} mm"
            for j in range(i + 1, len(shapes)):
                depth = _penetration(shape, shapes[j])
                assert depth <= TOLERANCE_M, f"{where} and object {j + 1} overlap by {depth * 1000:.2f} mm"
            on_floor = lowest <= floor + TOLERANCE_M
            stacked += not on_floor
            touching = [_distance(shape, walls)] + [_distance(shape, other) for other in shapes if other is not shape]
            assert on_floor or min(touching) <= TOLERANCE_M, f"{where} floats {min(touching) * 1000:.1f} mm from anything"
    assert sum(len(s.objects) - 1 for s in scenes) >= 30


def test_the_penetration_oracle_sees_an_object_in_the_tray_wall(tray_scenes):
    """The FCL checks above can fail: a cube pushed 5 mm into the tray's wall overlaps it by more
    than the tolerance (FCL's per-triangle depth is not the 5 mm: its EPA reports the smallest
    move that clears one triangle, which the big wall triangles' diagonals can make larger), and
    the same cube 1 mm off the wall is 1 mm away."""
    _, assets, scenes = tray_scenes
    tray = _world_mesh(scenes[0].objects[-1], assets.library)
    bvh = fcl.BVHModel()
    bvh.beginModel(len(tray.vertices), len(tray.faces))
    bvh.addSubModel(np.asarray(tray.vertices), np.asarray(tray.faces))
    bvh.endModel()
    walls = fcl.CollisionObject(bvh, fcl.Transform())
    inner_face_x = OUTER_MM[0] / 2000 - WALL_MM / 1000
    into, off = (trimesh.creation.box(extents=(0.03, 0.03, 0.03)) for _ in range(2))
    into.apply_translation((inner_face_x - 0.015 + 0.005, 0.0, 0.05))
    off.apply_translation((inner_face_x - 0.015 - 0.001, 0.0, 0.05))
    assert _penetration(_convex(into), walls) > TOLERANCE_M
    assert _penetration(_convex(off), walls) == 0.0
    assert _distance(_convex(off), walls) == pytest.approx(0.001, abs=1e-6)


def test_a_relative_container_mesh_is_resolved_against_the_config_file(tmp_path):
    import yaml

    (tmp_path / "meshes").mkdir()
    _tray().export(tmp_path / "meshes" / "tray.stl")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_config("meshes/tray.stl")))
    config = load_config(tmp_path / "config.yaml")
    assert config.objects.physics.container.mesh == str((tmp_path / "meshes" / "tray.stl").resolve())
    assert load_config(config.to_dict()) == config


@pytest.mark.parametrize("content", [None, b"solid nothing\nendsolid nothing\n"])
def test_a_missing_or_unreadable_container_mesh_is_refused_naming_the_field(tmp_path, content):
    path = tmp_path / "tray.stl"
    if content is not None:
        path.write_bytes(content)
    config = load_config(_config(str(path)))
    with pytest.raises(AssetError, match=rf"objects\.physics\.container\.mesh: mesh file {path}"):
        load_config_assets(config, check_images=False)


def test_a_missing_container_mesh_fails_the_job_before_anything_is_written(tmp_path):
    import vizsynth

    with pytest.raises(AssetError, match=r"objects\.physics\.container\.mesh: mesh file .* does not exist"):
        vizsynth.generate(_config(str(tmp_path / "nowhere.stl")), tmp_path / "out", num_frames=1, progress=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize(("container", "message"), [
    ({"mesh": "tray.stl", "size_m": [0.5, 0.5]}, r"container\.mesh .* leave out the box bin's size_m"),
    ({"mesh": "tray.stl", "wall_height_m": 0.3}, r"wall_height_m \(0\.3\)"),
    ({"mesh": "tray.stl", "enabled": False}, r"container\.mesh .* needs container\.enabled true"),
    ({"unit_scale_m": 0.001}, r"container\.unit_scale_m .* applies only to container\.mesh"),
    ({"mesh": "tray.stl", "unit_scale_m": 0}, r"unit_scale_m"),
])
def test_contradicting_container_settings_are_refused_naming_the_field(container, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"objects": {"placement": "physics", "physics": {"container": container}}})


def test_a_mesh_container_with_thrown_objects_is_refused():
    with pytest.raises(ConfigError, match=r"container\.mesh .* cannot be used with sequence\.object_motion 'physics'"):
        load_config({"objects": {"placement": "physics", "physics": {"container": {"mesh": "tray.stl"}}},
                     "sequence": {"frames_per_sequence": 2, "object_motion": "physics"}})


def test_configs_with_the_box_bin_print_as_before():
    container = load_config({"objects": {"placement": "physics"}}).to_dict()["objects"]["physics"]["container"]
    assert "mesh" not in container and "unit_scale_m" not in container


def test_a_pile_too_big_for_the_mesh_container_names_its_bounding_box(tray_scenes):
    folder, _, _ = tray_scenes
    config = _config(str(folder / "tray.stl"))
    config["objects"].update(count=60, primitive_size_m=0.05, assets=[{"primitive": "cube"}])
    config = load_config(config)
    assets = load_config_assets(config, check_images=False)
    # 0.35 of the bounding box 0.2 x 0.16 x 0.1 m is 0.00112 m^3; 60 cubes of 5 cm hold 0.0075 m^3.
    with pytest.raises(PlacementError, match=r"frame 3: .* limit of 0\.00112 m\^3 \(0\.35 of the mesh container's bounding box\)"):
        sample_scene(config, assets.catalog, seed=0, index=3, distractors=assets.distractors)


@pytest.mark.gl
def test_mesh_container_frames_are_identical_for_1_and_2_workers_and_replay_without_pybullet(
        tray_scenes, tmp_path, capsys, monkeypatch):
    import vizsynth
    from vizsynth.cli import main

    folder, _, _ = tray_scenes
    config = _config(str(folder / "tray.stl"))
    vizsynth.generate(config, tmp_path / "w1", num_frames=2, seed=2, workers=1, progress=False)
    vizsynth.generate(config, tmp_path / "w2", num_frames=2, seed=2, workers=2, progress=False)
    one = _tree(tmp_path / "w1")
    assert len([f for f in one if f.startswith("frames")]) == 2 and one == _tree(tmp_path / "w2")
    record = json.loads(next(v for k, v in one.items() if k.startswith("frames")))
    assert "tray.stl" in json.dumps(record), "the container is recorded as its mesh file"
    # Importing PyBullet now fails (as where it is not installed): the replay must not simulate.
    monkeypatch.setitem(sys.modules, "pybullet", None)
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "w1"), "--frame", "1", "--out", str(tmp_path / "r")]) == 0
    assert "4/4 files byte-identical" in capsys.readouterr().out


def test_a_labelled_coloured_mesh_container_keeps_its_colours_and_gets_its_category(tmp_path):
    tray = _tray()
    tray.visual.vertex_colors = np.tile([200, 30, 30, 255], (len(tray.vertices), 1)).astype(np.uint8)
    tray.export(tmp_path / "tray.ply")
    config = _config(str(tmp_path / "tray.ply"))
    config["objects"]["physics"]["container"]["category"] = "tote"
    config["objects"]["count"] = 2
    config = load_config(config)
    assets = load_config_assets(config, check_images=False)
    assert assets.catalog.categories[-1] == "tote"
    container = sample_scene(config, assets.catalog, seed=0, index=0, distractors=assets.distractors).objects[-1]
    assert (container.category, container.distractor, container.material) == ("tote", False, None)
