"""Placement: no two objects interpenetrate (checked with FCL mesh collision, independently of the
placement code) and tabletop objects rest on the plane."""

from __future__ import annotations

import pytest
import trimesh

from vizsynth.assets import MeshLibrary, build_catalog
from vizsynth.config import load_config
from vizsynth.errors import PlacementError
from vizsynth.sampling import sample_scene

pytest.importorskip("fcl")


def _world_meshes(scene, library):
    for obj in scene.objects:
        mesh = library.get(primitive=obj.primitive, mesh=obj.mesh).copy()
        mesh.apply_scale(obj.mesh_scale)
        mesh.apply_transform(obj.obj_to_world)
        yield obj, mesh


def _assert_no_interpenetration(scene, library):
    manager = trimesh.collision.CollisionManager()
    for obj, mesh in _world_meshes(scene, library):
        manager.add_object(str(obj.instance_id), mesh)
    hit, pairs = manager.in_collision_internal(return_names=True)
    assert not hit, f"interpenetrating objects {pairs}"


@pytest.fixture(scope="module")
def library():
    return MeshLibrary()


def _checked_scenes(objects: dict, frames: int, seed: int, library):
    """Samples scenes of an objects config, each checked for interpenetration."""
    config = load_config({"objects": objects})
    catalog = build_catalog(config.objects.assets, library, config.objects.placement == "tabletop")
    for index in range(frames):
        scene = sample_scene(config, catalog, seed=seed, index=index)
        _assert_no_interpenetration(scene, library)
        yield index, scene


def test_200_tabletop_scenes_rest_on_the_plane_without_interpenetration(library):
    objects = {"placement": "tabletop", "count": {"uniform": [3, 6]}}
    for index, scene in _checked_scenes(objects, 200, 5, library):
        for obj, mesh in _world_meshes(scene, library):
            assert abs(mesh.vertices[:, 2].min()) < 1e-3, f"frame {index}: {obj.category} does not rest on z = 0"


def test_flying_scenes_stay_in_view_without_interpenetration(library):
    for _, scene in _checked_scenes({"placement": "flying", "count": {"uniform": [4, 8]}}, 100, 6, library):
        cam = scene.camera
        for obj in scene.objects:
            centre = scene.obj_to_cam(obj)[:3, 3]
            u, v, w = cam.K @ centre
            assert w > 0 and 0 <= u / w <= cam.width - 1 and 0 <= v / w <= cam.height - 1


def test_impossible_tabletop_fails_clearly_naming_the_frame(library):
    config = load_config({"objects": {"placement": "tabletop", "count": 30, "primitive_size_m": 0.3,
                                      "tabletop_extent_m": [0.2, 0.2], "max_placement_tries": 20}})
    catalog = build_catalog(config.objects.assets, library, config.objects.placement == "tabletop")
    with pytest.raises(PlacementError, match="frame 3: object .* no free spot .* 20 tries"):
        sample_scene(config, catalog, seed=0, index=3)


@pytest.mark.gl
def test_balanced_mode_equal_counts_for_1_and_2_workers(tmp_path):
    """Per-category instance counts within ±5% over 1,000 frames, identical for 1 and 2 workers."""
    import collections
    import json

    import vizsynth

    config = {"objects": {"balance": True, "count": {"uniform": [2, 6]},
                          "assets": [{"primitive": "cube", "weight": 5}, {"primitive": "sphere"},
                                     {"primitive": "torus"}, {"primitive": "cone", "weight": 0.1}]}}
    library = MeshLibrary()
    resolved = load_config(config)
    catalog = build_catalog(resolved.objects.assets, library)
    counts = collections.Counter(o.category for i in range(1000)
                                 for o in sample_scene(resolved, catalog, seed=2, index=i).objects)
    mean = sum(counts.values()) / len(counts)
    assert all(abs(c - mean) <= 0.05 * mean for c in counts.values()), counts

    small = {**config, "image": {"width": 32, "height": 24}}
    per_run = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        vizsynth.generate(small, out, num_frames=40, seed=2, workers=workers, progress=False)
        per_run.append(collections.Counter(
            o["category"] for p in sorted((out / "frames").rglob("*.json")) for o in json.loads(p.read_text())["objects"]
        ))
    assert per_run[0] == per_run[1]
