"""Mesh files: loading with checks, and the per-process library that loads each file once."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import trimesh

from vizsynth.assets.primitives import make_primitive
from vizsynth.errors import AssetError
from vizsynth.scene import asset_key

MESH_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".stl")


def load_mesh_file(path: str | os.PathLike) -> trimesh.Trimesh:
    """Loads one mesh file as a single triangle mesh, keeping its texture or vertex colours.

    Raises:
        AssetError: the file is missing, has an unsupported suffix, cannot be parsed, has no faces or
            only degenerate (zero-area) ones, or non-finite vertices.
    """
    path = Path(path)
    if not path.is_file():
        raise AssetError(f"mesh file {path} does not exist")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise AssetError(f"mesh file {path}: unsupported format '{path.suffix}', expected one of {MESH_SUFFIXES}")
    try:
        loaded = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for broken files
        raise AssetError(f"mesh file {path} cannot be read: {type(exc).__name__}: {exc}") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise AssetError(f"mesh file {path} has no triangle faces")
    if not np.all(np.isfinite(loaded.vertices)):
        raise AssetError(f"mesh file {path} has non-finite vertex coordinates")
    if loaded.faces.min() < 0 or loaded.faces.max() >= len(loaded.vertices):
        raise AssetError(f"mesh file {path}: a face refers to a vertex that does not exist "
                         f"(indices {loaded.faces.min()}..{loaded.faces.max()}, {len(loaded.vertices)} vertices)")
    if not _has_area(loaded):
        raise AssetError(
            f"mesh file {path}: all of its {len(loaded.faces)} faces are degenerate (zero area), "
            "so it would never be seen"
        )
    return loaded


def _has_area(mesh: trimesh.Trimesh) -> bool:
    """Whether some face has a non-zero area, relative to the mesh's size (collinear vertices
    give areas of rounding noise, not exactly 0)."""
    corners = mesh.vertices[mesh.faces]  # (F, 3, 3) float64
    doubled = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    extent = float(np.ptp(corners.reshape(-1, 3), axis=0).max())
    return extent > 0 and float(doubled.max()) > 1e-12 * extent**2


def has_own_appearance(mesh: trimesh.Trimesh) -> bool:
    """True when a mesh carries a texture image or per-vertex/face colours of its own."""
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals):
        material = visual.material
        image = getattr(material, "image", None) or getattr(material, "baseColorTexture", None)
        if image is None or visual.uv is None:
            return False
        # OBJ files with UVs but no texture get a placeholder image of one colour: not a texture.
        pixels = np.asarray(image)
        return bool((pixels != pixels.reshape(-1, pixels.shape[-1])[0]).any()) if pixels.ndim == 3 else True
    return visual.kind in ("vertex", "face")


class MeshLibrary:
    """Loads each asset's geometry once per process and hands out the same object afterwards."""

    def __init__(self) -> None:
        self._meshes: dict[str, trimesh.Trimesh] = {}

    def get(self, *, primitive: str | None = None, mesh: str | None = None) -> trimesh.Trimesh:
        """The (unscaled) mesh for a primitive name or a mesh file path."""
        key = asset_key(primitive=primitive, mesh=mesh)
        if key not in self._meshes:
            self._meshes[key] = make_primitive(primitive) if primitive else load_mesh_file(mesh)
        return self._meshes[key]
