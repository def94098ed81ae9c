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


def test_200_tabletop_scenes_rest_on_the_plane_without_interpenetration(library):
    config = load_config({"objects": {"placement": "tabletop", "count": {"uniform": [3, 6]}}})
    catalog = build_catalog(config.objects, library)
    for index in range(200):
        scene = sample_scene(config, catalog, seed=5, index=index)
        _assert_no_interpenetration(scene, library)
        for obj, mesh in _world_meshes(scene, library):
            assert abs(mesh.vertices[:, 2].min()) < 1e-3, f"frame {index}: {obj.category} does not rest on z = 0"


def test_flying_scenes_stay_in_view_without_interpenetration(library):
    config = load_config({"objects": {"placement": "flying", "count": {"uniform": [4, 8]}}})
    catalog = build_catalog(config.objects, library)
    for index in range(100):
        scene = sample_scene(config, catalog, seed=6, index=index)
        _assert_no_interpenetration(scene, library)
        cam = scene.camera
        for obj in scene.objects:
            centre = scene.obj_to_cam(obj)[:3, 3]
            u, v, w = cam.K @ centre
            assert w > 0 and 0 <= u / w <= cam.width - 1 and 0 <= v / w <= cam.height - 1


def test_impossible_tabletop_fails_clearly_naming_the_frame(library):
    config = load_config({"objects": {"placement": "tabletop", "count": 30, "primitive_size_m": 0.3,
                                      "tabletop_extent_m": [0.2, 0.2], "max_placement_tries": 20}})
    catalog = build_catalog(config.objects, library)
    with pytest.raises(PlacementError, match="frame 3: object .* no free spot .* 20 tries"):
        sample_scene(config, catalog, seed=0, index=3)
