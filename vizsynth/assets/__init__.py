"""Assets: built-in primitives, mesh files, and the catalog a config draws from."""

from vizsynth.assets.catalog import AssetCatalog, AssetEntry, build_catalog
from vizsynth.assets.meshes import MeshLibrary, has_own_appearance, load_mesh_file
from vizsynth.assets.primitives import PRIMITIVE_NAMES, make_primitive

__all__ = [
    "AssetCatalog", "AssetEntry", "MeshLibrary", "PRIMITIVE_NAMES", "build_catalog",
    "has_own_appearance", "load_mesh_file", "make_primitive",
]
