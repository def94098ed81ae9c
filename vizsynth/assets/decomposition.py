"""Convex decomposition of an asset's mesh with Bullet's own V-HACD (``pybullet.vhacd``), cached on disk.

A decomposition takes seconds to minutes per mesh, so its result is kept in a cache folder outside
any dataset (it is derived from the asset, not part of what a dataset records) and reused by every
later job and worker: ``$VIZSYNTH_CACHE_DIR``, else ``$XDG_CACHE_HOME/vizsynth``, else
``~/.cache/vizsynth``, in ``vhacd/``. A file's name is the SHA-256 of everything the result depends
on: the mesh's vertices and faces (float64, int64 bytes), the V-HACD parameters and the PyBullet
version, so a changed mesh or setting never reads a stale result. V-HACD is deterministic (the same
input gives the same bytes), and a file appears whole or not at all (written under a temporary name,
then renamed), so workers that decompose the same mesh at once agree.

The result is V-HACD's own OBJ file, one ``o`` object per convex part in mesh units: Bullet loads it
as a compound of convex hulls (``createCollisionShape(GEOM_MESH, fileName=...)``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import trimesh

from vizsynth.errors import AssetError, VizsynthError

INSTALL_HINT = "objects.physics.collision 'vhacd' needs PyBullet: pip install 'vizsynth[physics]' (pybullet==3.2.7)"
# Bumped when the way a cached file is made changes, so old files are not read for new ones.
FORMAT = "vizsynth-vhacd-1"


def cache_folder() -> Path:
    """The folder of cached decompositions (not created here)."""
    root = os.environ.get("VIZSYNTH_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = str(Path(xdg) / "vizsynth") if xdg else str(Path.home() / ".cache" / "vizsynth")
    return Path(root) / "vhacd"


def _pybullet_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pybullet")
    except PackageNotFoundError:
        return "unknown"


def decomposition_key(mesh: trimesh.Trimesh, resolution: int, concavity: float) -> str:
    """The SHA-256 hex digest naming the cached decomposition of ``mesh`` with these parameters."""
    digest = hashlib.sha256()
    params = {"format": FORMAT, "pybullet": _pybullet_version(), "resolution": int(resolution),
              "concavity": float(concavity)}
    digest.update(json.dumps(params, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(mesh.vertices, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(mesh.faces, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _silenced(call):
    """Runs ``call()`` with file descriptor 1 sent to /dev/null: V-HACD prints its progress from C."""
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        return call()
    finally:
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)


def convex_parts_file(mesh: trimesh.Trimesh, *, resolution: int, concavity: float, name: str) -> str:
    """The path of ``mesh``'s V-HACD decomposition (an OBJ of convex parts, mesh units), made if not cached.

    Args:
        mesh: the asset's mesh, unscaled.
        resolution, concavity: V-HACD's voxel count and largest concavity.
        name: the asset, named in errors.

    Raises:
        VizsynthError: PyBullet is not installed (with the install hint).
        AssetError: the cache folder cannot be written, or V-HACD made no part of the mesh.
    """
    folder = cache_folder()
    target = folder / f"{decomposition_key(mesh, resolution, concavity)}.obj"
    if target.is_file():
        return str(target)
    try:
        import pybullet
    except ImportError:
        raise VizsynthError(INSTALL_HINT) from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".vhacd-") as work:
            source, result = Path(work) / "in.obj", Path(work) / "out.obj"
            source.write_text(trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_texture=False))
            _silenced(lambda: pybullet.vhacd(str(source), str(result), str(Path(work) / "log.txt"),
                                             resolution=int(resolution), concavity=float(concavity)))
            if not result.is_file() or "\nv " not in "\n" + result.read_text():
                raise AssetError(f"{name}: V-HACD made no convex part of the mesh (objects.physics.collision 'vhacd'); "
                                 "use collision 'hull' for it or repair the mesh")
            os.replace(result, target)
    except OSError as error:
        raise AssetError(f"vhacd cache folder {folder}: cannot write the decomposition of {name} ({error}); "
                         "set VIZSYNTH_CACHE_DIR to a writable folder") from None
    return str(target)
