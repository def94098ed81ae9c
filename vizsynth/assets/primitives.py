"""Built-in primitive meshes, made with trimesh, centred at the origin with largest extent 1 m.

An object's ``mesh_scale`` is then its size in metres.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vizsynth.errors import AssetError

if TYPE_CHECKING:
    import trimesh

# name -> (trimesh.creation function, its arguments). The one list of primitives: the config's
# asset names come from here, and naming functions (not calling them) keeps trimesh unimported
# until a primitive is built.
_BUILDERS = {
    "cube": ("box", {"extents": (1.0, 1.0, 1.0)}),
    "sphere": ("icosphere", {"subdivisions": 3, "radius": 0.5}),
    "cylinder": ("cylinder", {"radius": 0.5, "height": 1.0, "sections": 48}),
    "cone": ("cone", {"radius": 0.5, "height": 1.0, "sections": 48}),
    "torus": ("torus", {"major_radius": 0.35, "minor_radius": 0.15, "major_sections": 48, "minor_sections": 24}),
    "capsule": ("capsule", {"height": 0.5, "radius": 0.25, "count": (24, 24)}),
    # The backdrop floor (background.floor): a thin slab, not a category objects can be drawn from.
    "floor": ("box", {"extents": (1.0, 1.0, 0.001)}),
}

PRIMITIVE_NAMES = tuple(name for name in _BUILDERS if name != "floor")


def make_primitive(name: str) -> trimesh.Trimesh:
    """A new unit primitive mesh: bounding-box centre at the origin, largest extent 1.

    Raises:
        AssetError: for an unknown name (with the known names).
    """
    if name not in _BUILDERS:
        raise AssetError(f"unknown primitive '{name}'; known primitives: {', '.join(PRIMITIVE_NAMES)}")
    import trimesh

    function, arguments = _BUILDERS[name]
    mesh = getattr(trimesh.creation, function)(**arguments)
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    mesh.apply_scale(1.0 / float(np.max(mesh.extents)))
    return mesh
