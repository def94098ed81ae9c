"""Assets: built-in primitives, mesh files, and the catalog a config draws from.

Names resolve on first use (PEP 562): the config imports ``assets.primitives`` for the primitive
names, and the catalog imports the config, so importing this package must not import the catalog.
"""

from importlib import import_module

_HOMES = {
    "AssetCatalog": "catalog", "AssetEntry": "catalog", "build_catalog": "catalog",
    "MeshLibrary": "meshes", "has_own_appearance": "meshes", "load_mesh_file": "meshes",
    "PRIMITIVE_NAMES": "primitives", "make_primitive": "primitives",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
