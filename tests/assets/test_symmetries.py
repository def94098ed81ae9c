"""Primitive symmetries, checked against the models themselves: each declared transform must map the
model's vertices onto its vertices (or, for an open box, its solid onto its solid)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

from vizsynth.assets.primitives import bin_boxes, bin_name, make_primitive
from vizsynth.assets.symmetries import Symmetries, bop_symmetries, primitive_symmetries
from vizsynth.config import load_config
from vizsynth.errors import ConfigError

SIZE_MM = 250.0
# Sections about the z axis of the round primitives (vizsynth.assets.primitives): rotations by
# whole sections map their tessellated vertices exactly onto each other.
SECTIONS = {"cylinder": 48, "cone": 48, "torus": 48, "capsule": 24}


def _model_mm(name: str) -> np.ndarray:
    return make_primitive(name).vertices * SIZE_MM


def _farthest_miss(vertices: np.ndarray, transform: np.ndarray) -> float:
    """The largest distance from a transformed vertex to the nearest original vertex (mm)."""
    moved = vertices @ transform[:3, :3].T + transform[:3, 3]
    return float(cKDTree(vertices).query(moved)[0].max())


def _bop(name: str) -> dict:
    """The models_info.json symmetry keys of a primitive written at SIZE_MM."""
    return bop_symmetries(primitive_symmetries(name), SIZE_MM)


@pytest.mark.parametrize("name", ["cube", "cylinder", "torus", "capsule"])
def test_discrete_symmetries_map_each_primitive_vertex_onto_a_vertex(name):
    transforms = [np.reshape(t, (4, 4)) for t in _bop(name)["symmetries_discrete"]]
    vertices = _model_mm(name)
    for transform in transforms:
        assert np.allclose(transform[3], [0, 0, 0, 1]) and np.isclose(np.linalg.det(transform[:3, :3]), 1.0)
        assert _farthest_miss(vertices, transform) < 1e-9 * SIZE_MM
    assert not any(np.allclose(t, np.eye(4)) for t in transforms), "BOP implies the identity"


def test_the_cube_lists_all_23_non_identity_rotations_of_its_group_once():
    transforms = [np.reshape(t, (4, 4)) for t in _bop("cube")["symmetries_discrete"]]
    assert len({tuple(np.round(t.ravel(), 9)) for t in transforms}) == 23


@pytest.mark.parametrize("name, sections", SECTIONS.items())
def test_continuous_symmetries_are_the_round_axis_of_each_primitive(name, sections):
    (continuous,) = _bop(name)["symmetries_continuous"]
    axis, offset = np.array(continuous["axis"]), np.array(continuous["offset"])
    vertices = _model_mm(name)
    for k in range(1, sections):
        rotation = trimesh.transformations.rotation_matrix(2 * np.pi * k / sections, axis, offset)
        assert _farthest_miss(vertices, rotation) < 1e-6 * SIZE_MM, f"{k} of {sections} sections"


def test_the_sphere_is_round_about_each_listed_axis_through_its_centre():
    symmetries = _bop("sphere")["symmetries_continuous"]
    assert sorted(tuple(s["axis"]) for s in symmetries) == [(0, 0, 1), (0, 1, 0), (1, 0, 0)]
    assert all(s["offset"] == [0.0, 0.0, 0.0] for s in symmetries)
    radii = np.linalg.norm(_model_mm("sphere"), axis=1)
    assert np.allclose(radii, SIZE_MM / 2), "every vertex on one sphere about the offset: any turn maps it"


@pytest.mark.parametrize("name, transform", [
    ("cube", trimesh.transformations.rotation_matrix(np.pi / 4, [0, 0, 1])),
    ("cone", np.diag([1.0, -1.0, -1.0, 1.0])),  # a cone turned upside down is not a cone
    ("cylinder", trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])),
])
def test_the_vertex_oracle_rejects_transforms_that_are_not_symmetries(name, transform):
    assert _farthest_miss(_model_mm(name), transform) > 0.05 * SIZE_MM
    listed = [np.reshape(t, (4, 4)) for t in _bop(name).get("symmetries_discrete", [])]
    assert not any(np.allclose(t, transform) for t in listed)


def _inside_bin(name: str, points: np.ndarray) -> np.ndarray:
    """(N,) bool: points of the bin's own frame (base on z = 0) inside one of its boxes."""
    return np.any([np.all(np.abs(points - centre) < extents / 2, axis=1) for centre, extents in bin_boxes(name)],
                  axis=0)


@pytest.mark.parametrize("size, turns", [((0.4, 0.4), 3), ((0.5, 0.4), 1)])
def test_bin_symmetries_map_its_solid_onto_itself(size, turns):
    name = bin_name(*size, 0.2, 0.02)
    transforms = primitive_symmetries(name).discrete
    assert len(transforms) == turns
    # A grid off every wall face (steps of 1/97 of the extent), in the bin's own frame; the turns
    # are about its vertical centre line, which make_primitive keeps at x = y = 0.
    axes = [np.linspace(-0.3, 0.3, 97) + 0.001, np.linspace(-0.3, 0.3, 97) + 0.001, np.linspace(0.0, 0.2, 23) + 0.0007]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = _inside_bin(name, points)
    assert inside.sum() > 1000
    for transform in transforms:
        moved = points @ transform[:3, :3].T
        assert np.array_equal(_inside_bin(name, moved), inside)
    quarter = trimesh.transformations.rotation_matrix(np.pi / 2, [0, 0, 1])[:3, :3]
    assert np.array_equal(_inside_bin(name, points @ quarter.T), inside) == (turns == 3)


def test_translations_of_declared_symmetries_are_scaled_to_millimetres():
    turn = np.array([[-1.0, 0, 0, 0.1], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    symmetries = Symmetries(discrete=(turn,), continuous=((np.array([0.0, 0, 1]), np.array([0.05, 0, 0])),))
    keys = bop_symmetries(symmetries, 1000.0 * 0.5)
    assert np.reshape(keys["symmetries_discrete"][0], (4, 4))[0, 3] == pytest.approx(50.0)
    assert keys["symmetries_continuous"] == [{"axis": [0.0, 0.0, 1.0], "offset": [25.0, 0.0, 0.0]}]


def _mesh_config(symmetries: dict) -> dict:
    return {"objects": {"assets": [{"mesh": "/nowhere/box.ply", "category": "box", "symmetries": symmetries}]}}


@pytest.mark.parametrize("symmetries, fragment", [
    ({"discrete": [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]]}, "must hold 16 numbers"),
    ({"discrete": [[2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]]}, "must be a rotation"),
    ({"discrete": [[-1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]]}, "must be a rotation"),  # a mirror
    ({"discrete": [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1]]}, "last row must be"),
    ({"continuous": [{"axis": [0, 0, 0]}]}, "axis must not be all zeros"),
    ({"continuous": [{"axis": [0, 0, 1], "angle": 3}]}, "angle"),
])
def test_declared_mesh_symmetries_are_checked_with_a_message_naming_the_field(symmetries, fragment):
    with pytest.raises(ConfigError, match=fragment) as caught:
        load_config(_mesh_config(symmetries))
    assert "symmetries" in str(caught.value)


def test_declared_mesh_symmetries_round_trip_through_the_resolved_config():
    config = load_config(_mesh_config({"discrete": [[-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]],
                                       "continuous": [{"axis": [0, 0, 2]}]}))
    assert load_config(config.to_dict()) == config
    assert config.objects.assets[0].symmetries.continuous[0].offset == (0.0, 0.0, 0.0)
