"""The asset catalog of a config: every candidate asset with its category and weight."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import trimesh

from vizsynth.assets.images import ImagePools, image_pools, split_of
from vizsynth.assets.keypoints import NO_KEYPOINTS, PRIMITIVE_KEYPOINTS, KeypointSchema
from vizsynth.assets.meshes import MESH_SUFFIXES, MeshLibrary, has_own_appearance
from vizsynth.assets.resting import RestingPose, bounding_radius, resting_poses
from vizsynth.config import MeshAsset, MeshFolderAsset, PrimitiveAsset
from vizsynth.errors import AssetError


@dataclass(frozen=True)
class AssetEntry:
    """One candidate asset.

    Attributes:
        category: category name.
        primitive: primitive name, or None for a mesh file.
        mesh: absolute mesh path, or None for a primitive.
        unit_scale_m: metres per mesh unit (1 for primitives: their size is sampled separately).
        weight: relative odds of being drawn.
        own_appearance: whether the mesh has its own texture/colours.
        keypoints: its named keypoints (primitives: built-in defaults; meshes: from the config).
        radius: bounding-sphere radius about the model origin, mesh units.
        resting: its most probable stable poses on a plane (only computed for tabletop placement).
        hull: its convex hull, mesh units (only computed for physics placement: the collision shape).
        parts_file: its V-HACD convex decomposition, an OBJ file in the cache folder, mesh units (only
            made for physics placement with ``collision: vhacd``; see vizsynth.assets.decomposition).
    """

    category: str
    primitive: str | None
    mesh: str | None
    unit_scale_m: float
    weight: float
    own_appearance: bool
    keypoints: KeypointSchema = NO_KEYPOINTS
    radius: float = 0.0
    resting: tuple[RestingPose, ...] = ()
    hull: trimesh.Trimesh | None = None
    parts_file: str | None = None


@dataclass(frozen=True)
class AssetCatalog:
    """The candidates a config draws from, and the category id of every category name.

    Category ids are 1-based, in order of first appearance in ``objects.assets``.
    """

    entries: tuple[AssetEntry, ...]
    categories: tuple[str, ...]

    @property
    def probabilities(self) -> np.ndarray:
        """(len(entries),) float64 draw probabilities."""
        weights = np.array([e.weight for e in self.entries], dtype=np.float64)
        return weights / weights.sum()

    @property
    def drawable_categories(self) -> tuple[str, ...]:
        """The categories that have an asset to draw (all of them unless a split removed some)."""
        present = {e.category for e in self.entries}
        return tuple(c for c in self.categories if c in present)

    def probabilities_within(self, category: str) -> np.ndarray:
        """(len(entries),) float64 draw probabilities restricted to one category's assets.

        A category whose assets all have weight 0 draws them uniformly.
        """
        mask = np.array([e.category == category for e in self.entries], dtype=np.float64)
        weights = mask * np.array([e.weight for e in self.entries], dtype=np.float64)
        weights = weights if weights.sum() > 0 else mask
        return weights / weights.sum()

    def keypoints(self, *, primitive: str | None, mesh: str | None) -> KeypointSchema:
        """The keypoints of an asset: a primitive's defaults, a catalog mesh's configured ones."""
        if primitive:
            return PRIMITIVE_KEYPOINTS.get(primitive, NO_KEYPOINTS)
        return next((e.keypoints for e in self.entries if e.mesh == mesh), NO_KEYPOINTS)

    def hull(self, *, primitive: str | None, mesh: str | None) -> trimesh.Trimesh | None:
        """The convex hull of a catalog asset (None: not computed, or not in the catalog)."""
        return next((e.hull for e in self.entries if e.primitive == primitive and e.mesh == mesh), None)

    def parts_file(self, *, primitive: str | None, mesh: str | None) -> str | None:
        """The convex decomposition file of a catalog asset (None: not made, or not in the catalog)."""
        return next((e.parts_file for e in self.entries if e.primitive == primitive and e.mesh == mesh), None)

    def category_keypoints(self) -> dict[str, KeypointSchema]:
        """{category: keypoint schema} (every asset of a category shares one; checked when built)."""
        return {e.category: e.keypoints for e in self.entries}


def build_catalog(assets: tuple, library: MeshLibrary, resting: bool = False, split: str | None = None,
                  fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), hulls: bool = False,
                  vhacd: tuple[int, float] | None = None) -> AssetCatalog:
    """Expands config asset entries into catalog entries, loading (and so checking) every mesh once.

    Args:
        assets: ``objects.assets`` or ``distractors.assets``.
        resting: also compute each asset's stable resting poses (tabletop placement).
        split: keep only the mesh files of this split (see vizsynth.assets.images); primitives stay.
            Categories (and so their ids) are those of every asset, whatever the split.
        hulls: also compute each asset's convex hull (physics placement).
        vhacd: also decompose each asset into convex parts with these V-HACD (resolution, concavity),
            cached on disk (physics placement with ``collision: vhacd``).

    Raises:
        AssetError: a missing, unreadable or face-less mesh, or an empty folder.
    """
    entries: list[AssetEntry] = []
    for asset in assets:
        if isinstance(asset, PrimitiveAsset):
            library.get(primitive=asset.primitive)
            entries.append(AssetEntry(asset.primitive, asset.primitive, None, 1.0, asset.weight, False,
                                      PRIMITIVE_KEYPOINTS[asset.primitive]))
        elif isinstance(asset, MeshAsset):
            mesh = library.get(mesh=asset.mesh)
            names = tuple(asset.keypoints)
            keypoints = KeypointSchema(
                names, tuple(asset.keypoints[n] for n in names),
                tuple((names.index(a) + 1, names.index(b) + 1) for a, b in asset.skeleton),
            )
            entries.append(AssetEntry(asset.category, None, asset.mesh, asset.unit_scale_m, asset.weight,
                                      has_own_appearance(mesh), keypoints))
        elif isinstance(asset, MeshFolderAsset):
            entries += _folder_entries(asset, library)
    categories = tuple(dict.fromkeys(e.category for e in entries))
    if split is not None:
        entries = [e for e in entries if e.mesh is None or split_of(e.mesh, fractions) == split]
        if not entries:
            raise AssetError(f"split '{split}' leaves no assets (its mesh files all fall in other splits)")
    entries = [_with_geometry(e, library, resting, hulls, vhacd) for e in entries]
    for category in categories:
        schemas = {e.keypoints.names for e in entries if e.category == category}
        if len(schemas) > 1:
            raise AssetError(
                f"category '{category}': its assets define different keypoints {sorted(schemas)}; "
                "COCO keypoints are per category, so every asset of a category needs the same names"
            )
    return AssetCatalog(tuple(entries), categories)


def _with_geometry(entry: AssetEntry, library: MeshLibrary, resting: bool, hulls: bool = False,
                   vhacd: tuple[int, float] | None = None) -> AssetEntry:
    mesh = library.get(primitive=entry.primitive, mesh=entry.mesh)
    parts = None
    if vhacd is not None:
        from vizsynth.assets.decomposition import convex_parts_file

        parts = convex_parts_file(mesh, resolution=vhacd[0], concavity=vhacd[1], name=entry.mesh or entry.primitive)
    return replace(entry, radius=bounding_radius(mesh), resting=resting_poses(mesh) if resting else (),
                   hull=mesh.convex_hull if hulls else None, parts_file=parts)


def _folder_entries(asset: MeshFolderAsset, library: MeshLibrary) -> list[AssetEntry]:
    folder = Path(asset.folder)
    if not folder.is_dir():
        raise AssetError(f"mesh folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in MESH_SUFFIXES and p.is_file())
    if not files:
        raise AssetError(f"mesh folder {folder} holds no mesh files ({', '.join(MESH_SUFFIXES)})")
    entries = []
    for path in files:
        relative = path.relative_to(folder)
        # models/<name>/textured.obj (one mesh per subfolder) takes the subfolder's name.
        category = asset.category or (relative.parts[0] if len(relative.parts) > 1 else path.stem)
        mesh = library.get(mesh=str(path))
        entries.append(
            AssetEntry(category, None, str(path), asset.unit_scale_m, asset.weight, has_own_appearance(mesh))
        )
    return entries


@dataclass(frozen=True)
class ConfigAssets:
    """Everything a config draws from, loaded once: meshes, the object and distractor catalogs,
    and the texture and background image pools.

    Attributes:
        library: the loaded meshes (each asset checked on loading).
        catalog: the labelled objects' catalog; its categories give the category ids.
        distractors: the distractors' catalog, or None when the config places none.
        images: the texture images and background photos in the config's split.
    """

    library: MeshLibrary
    catalog: AssetCatalog
    distractors: AssetCatalog | None
    images: ImagePools


def load_config_assets(config, *, resting: bool | None = None, check_images: bool = True) -> ConfigAssets:
    """Loads (and so checks) every asset a DatasetConfig uses, before anything is rendered or written.

    Args:
        config: a DatasetConfig.
        resting: compute resting poses (tabletop placement); default: when the config places on a table.
        check_images: decode every image once; worker processes of a checked job pass False.

    Raises:
        AssetError: a mesh, folder or image that cannot be used, naming it.
    """
    resting = config.objects.placement == "tabletop" if resting is None else resting
    hulls = config.objects.placement == "physics" or config.sequence.object_motion == "physics"
    physics = config.objects.physics
    vhacd = ((physics.vhacd_resolution, physics.vhacd_concavity)
             if hulls and physics is not None and physics.collision == "vhacd" else None)
    library = MeshLibrary()
    split, fractions = config.split.use, config.split.fractions
    catalog = build_catalog(config.objects.assets, library, resting, split, fractions, hulls, vhacd)
    container = config.objects.physics.container if config.objects.physics is not None else None
    if config.objects.placement == "physics" and container.enabled and container.mesh is not None:
        try:
            library.get(mesh=container.mesh)
        except AssetError as exc:
            raise AssetError(f"objects.physics.container.mesh: {exc}") from None
    if container is not None and container.enabled and container.category not in (None, *catalog.categories):
        catalog = replace(catalog, categories=(*catalog.categories, container.category))  # a labelled bin
    # A job checks the distractor assets even when none is placed: a bad path fails before writing.
    wanted = check_images or config.distractors.count.support()[1] > 0
    distractors = (build_catalog(config.distractors.assets, library, resting, split, fractions, hulls, vhacd)
                   if wanted else None)
    return ConfigAssets(library, catalog, distractors, image_pools(config, check=check_images))
