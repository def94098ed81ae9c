"""Object sampling: which assets, where, how big, and with which material."""

from __future__ import annotations

import numpy as np

from vizsynth.appearance.textures import sample_texture
from vizsynth.assets.catalog import AssetCatalog, AssetEntry
from vizsynth.config import DistractorsConfig, MaterialConfig, ObjectsConfig
from vizsynth.distributions import Param
from vizsynth.sampling.placement import place_flying, place_tabletop
from vizsynth.sampling.poses import quaternion_to_matrix
from vizsynth.scene import CameraSpec, MaterialSpec, ObjectSpec


def sample_rotation(mode: str, *, rng: np.random.Generator) -> np.ndarray:
    """(3, 3) rotation: uniform over SO(3), uniform about world z ("upright"), or identity."""
    if mode == "uniform":
        q = rng.normal(size=4)
        return quaternion_to_matrix(q / np.linalg.norm(q))
    if mode == "upright":
        angle = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(angle), np.sin(angle)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return np.eye(3)


def sample_material(config: MaterialConfig, *, rng: np.random.Generator, images: tuple[str, ...] = ()) -> MaterialSpec:
    """Draws base colour (r, g, b), metallic, roughness, texture probability, a coin, a texture.

    The texture is always drawn (used or not), so the stream advances the same way either way.
    """
    color = tuple(float(c.sample(rng=rng)) for c in config.base_color)
    metallic, roughness = float(config.metallic.sample(rng=rng)), float(config.roughness.sample(rng=rng))
    textured = rng.uniform() < config.texture_probability.sample(rng=rng)
    texture = sample_texture(config.textures, rng=rng, images=images)
    return MaterialSpec(color, metallic, roughness, texture if textured else None)


def _draw_objects(
    count: int, catalog: AssetCatalog, size_m: Param, mesh_scale: Param, objects: ObjectsConfig, *,
    rng: np.random.Generator, camera: CameraSpec, index: int, placed: list, balance: bool,
) -> list[tuple[AssetEntry, float, np.ndarray]]:
    """Draws ``count`` (asset, mesh_scale, obj_to_world) and places them as ``objects.placement`` says."""
    entries, scales, poses = [], [], []
    for slot in range(count):
        if balance:
            # Frame i's objects take categories i, i+1, ... (mod K): over any K consecutive frames
            # every category starts a frame once, so counts even out whatever the worker count.
            drawable = catalog.drawable_categories
            category = drawable[(index + slot) % len(drawable)]
            entry = catalog.entries[int(rng.choice(len(catalog.entries), p=catalog.probabilities_within(category)))]
        else:
            entry = catalog.entries[int(rng.choice(len(catalog.entries), p=catalog.probabilities))]
        pose = np.eye(4)
        pose[:3, :3] = sample_rotation(objects.rotation, rng=rng)
        pose[:3, 3] = [p.sample(rng=rng) for p in objects.position_m]
        size = (size_m if entry.primitive else mesh_scale).sample(rng=rng)
        entries.append(entry)
        scales.append(float(size * entry.unit_scale_m))
        poses.append(pose)
    if objects.placement == "flying":
        radii = [e.radius * s for e, s in zip(entries, scales)]
        poses = place_flying(radii, [p[:3, :3] for p in poses], camera, objects, rng=rng, index=index, placed=placed)
    elif objects.placement == "tabletop":
        poses = place_tabletop([e.resting for e in entries], scales, objects, rng=rng, index=index, placed=placed)
    return list(zip(entries, scales, poses))


def sample_objects(
    objects: ObjectsConfig,
    material: MaterialConfig,
    catalog: AssetCatalog,
    *,
    rng: np.random.Generator,
    material_rng: np.random.Generator,
    camera: CameraSpec,
    index: int,
    placed: list,
    texture_images: tuple[str, ...] = (),
) -> tuple[ObjectSpec, ...]:
    """Draws the labelled objects of one frame; instance ids are 1..count in draw order.

    ``objects.placement`` decides the poses: as drawn ("scatter"), or placed without
    interpenetration in the camera's view ("flying") or on the table ("tabletop"); ``placed``
    collects what was placed, for the distractors. ``index`` names the frame in a PlacementError.
    Every object draws a material from ``material_rng`` (used or not), so whether an asset keeps
    its own appearance never shifts the materials of the others.
    """
    count = objects.count.sample(rng=rng, integer=True)
    drawn = _draw_objects(count, catalog, objects.primitive_size_m, objects.mesh_scale, objects, rng=rng,
                          camera=camera, index=index, placed=placed, balance=objects.balance)
    out = []
    for instance_id, (entry, scale, pose) in enumerate(drawn, start=1):
        chosen = sample_material(material, rng=material_rng, images=texture_images)
        keep_own = material.keep_asset_appearance and entry.own_appearance
        out.append(ObjectSpec(
            instance_id=instance_id, category=entry.category, primitive=entry.primitive, mesh=entry.mesh,
            mesh_scale=scale, obj_to_world=pose, material=None if keep_own else chosen,
        ))
    return tuple(out)


def sample_distractors(
    distractors: DistractorsConfig,
    objects: ObjectsConfig,
    material: MaterialConfig,
    catalog: AssetCatalog,
    *,
    rng: np.random.Generator,
    camera: CameraSpec,
    index: int,
    placed: list,
    first_id: int,
    texture_images: tuple[str, ...] = (),
) -> tuple[ObjectSpec, ...]:
    """Draws the frame's distractors (ids from ``first_id``), placed like the objects and around them.

    They draw everything, materials included, from their own stream ``rng``.
    """
    count = distractors.count.sample(rng=rng, integer=True)
    drawn = _draw_objects(count, catalog, distractors.size_m, distractors.mesh_scale, objects, rng=rng,
                          camera=camera, index=index, placed=placed, balance=False)
    return tuple(
        ObjectSpec(
            instance_id=first_id + k, category="distractor", primitive=entry.primitive, mesh=entry.mesh,
            mesh_scale=scale, obj_to_world=pose, distractor=True,
            material=None if material.keep_asset_appearance and entry.own_appearance
            else sample_material(material, rng=rng, images=texture_images),
        )
        for k, (entry, scale, pose) in enumerate(drawn)
    )
