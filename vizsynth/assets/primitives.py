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
# A floor texture repeats this many times along each side of the floor (6 m: one tile per 0.5 m).
FLOOR_TEXTURE_TILES = 12
BIN_PREFIX = "bin:"


def bin_name(length_m: float, width_m: float, height_m: float, thickness_m: float) -> str:
    """The primitive name of an open box (physics containers): ``bin:<x>:<y>:<z>:<wall>`` in metres.

    The name holds the whole shape, so a frame record renders the bin without its config.
    """
    return BIN_PREFIX + ":".join(repr(float(v)) for v in (length_m, width_m, height_m, thickness_m))


def is_bin(primitive: str | None) -> bool:
    """Whether ``primitive`` (an object's primitive name, or None for a mesh) names a bin."""
    return primitive is not None and primitive.startswith(BIN_PREFIX)


def bin_size(name: str) -> tuple[float, float, float, float]:
    """(length, width, height, wall thickness) in metres of a bin's name (``bin_name``'s inverse).

    Raises:
        AssetError: a malformed bin name.
    """
    try:
        x, y, z, t = (float(v) for v in name[len(BIN_PREFIX):].split(":"))
    except ValueError:
        raise AssetError(f"primitive '{name}': a bin is named bin:<x>:<y>:<z>:<wall> in metres") from None
    return x, y, z, t


def bin_boxes(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (centre (3,), extents (3,)) in metres of a bin's base and four walls; base on z = 0.

    Raises:
        AssetError: a malformed bin name.
    """
    x, y, z, t = bin_size(name)
    if not (0 < 2 * t < min(x, y) and 0 < t < z):
        raise AssetError(f"primitive '{name}': the wall thickness must be > 0, < half of x and y and < z")
    return [
        (np.array([0.0, 0.0, t / 2]), np.array([x, y, t])),
        (np.array([(x - t) / 2, 0.0, z / 2]), np.array([t, y, z])),
        (np.array([-(x - t) / 2, 0.0, z / 2]), np.array([t, y, z])),
        (np.array([0.0, (y - t) / 2, z / 2]), np.array([x - 2 * t, t, z])),
        (np.array([0.0, -(y - t) / 2, z / 2]), np.array([x - 2 * t, t, z])),
    ]


def _bin_mesh(name: str) -> trimesh.Trimesh:
    import trimesh

    parts = [trimesh.creation.box(extents=e, transform=trimesh.transformations.translation_matrix(c))
             for c, e in bin_boxes(name)]
    return trimesh.util.concatenate(parts)


def make_primitive(name: str) -> trimesh.Trimesh:
    """A new unit primitive mesh: bounding-box centre at the origin, largest extent 1.

    Raises:
        AssetError: for an unknown name (with the known names).
    """
    if is_bin(name):
        mesh = _bin_mesh(name)
    elif name not in _BUILDERS:
        raise AssetError(f"unknown primitive '{name}'; known primitives: {', '.join(PRIMITIVE_NAMES)}")
    else:
        import trimesh

        function, arguments = _BUILDERS[name]
        mesh = getattr(trimesh.creation, function)(**arguments)
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    mesh.apply_scale(1.0 / float(np.max(mesh.extents)))
    if name == "floor":
        import trimesh

        # Planar texture coordinates (x, y), repeated FLOOR_TEXTURE_TILES times across: a floor
        # texture tiles the plane instead of one image stretched over all of it.
        mesh.visual = trimesh.visual.TextureVisuals(uv=(mesh.vertices[:, :2] + 0.5) * FLOOR_TEXTURE_TILES)
    return mesh
