"""sample_scene: config + seed + frame index -> SceneSpec."""

from __future__ import annotations

import numpy as np

from vizsynth.appearance.backgrounds import Background
from vizsynth.appearance.effects import sample_effects
from vizsynth.appearance.textures import Texture, sample_texture
from vizsynth.assets.catalog import AssetCatalog
from vizsynth.assets.images import ImagePools
from vizsynth.config import BackgroundConfig, DatasetConfig
from vizsynth.sampling.camera import sample_camera
from vizsynth.sampling.lighting import sample_lights
from vizsynth.sampling.objects import sample_distractors, sample_objects
from vizsynth.scene import MaterialSpec, ObjectSpec, SceneSpec
from vizsynth.seeding import frame_rngs

FLOOR_SIZE_M = 6.0


def floor_object(instance_id: int, color: tuple[float, float, float], texture: Texture | None = None) -> ObjectSpec:
    """The backdrop floor: an unlabelled slab whose top face is the plane z = 0, plain or textured
    (the texture repeats every FLOOR_SIZE_M / FLOOR_TEXTURE_TILES metres)."""
    pose = np.eye(4)
    pose[2, 3] = -0.0005 * FLOOR_SIZE_M
    return ObjectSpec(instance_id=instance_id, category="floor", primitive="floor", mesh=None,
                      mesh_scale=FLOOR_SIZE_M, obj_to_world=pose, material=MaterialSpec(color, 0.0, 0.9, texture),
                      distractor=True)


def sample_background(config: BackgroundConfig, photos: tuple[str, ...], *, rng: np.random.Generator) -> tuple:
    """Draws (background_rgb, Background): colour, kind, texture, photo, crop, flip in that order."""
    color = tuple(float(c.sample(rng=rng)) for c in config.color)
    kind = config.kind.sample(rng=rng)
    texture = sample_texture(config.textures, rng=rng)
    zoom = float(config.image_zoom.sample(rng=rng))
    corner = rng.uniform(0.0, 1.0 - 1.0 / zoom, size=2)
    flip = bool(rng.uniform() < 0.5)
    photo = photos[int(rng.integers(len(photos)))] if photos else None
    if kind == "procedural":
        return color, Background("procedural", texture=texture)
    if kind == "image":
        crop = (float(corner[0]), float(corner[1]), 1.0 / zoom, 1.0 / zoom)
        return color, Background("image", path=photo, crop=crop, flip=flip)
    return color, Background()


def sample_scene(config: DatasetConfig, catalog: AssetCatalog, *, seed: int, index: int,
                 distractors: AssetCatalog | None = None, images: ImagePools | None = None,
                 attempt: int = 0) -> SceneSpec:
    """Frame ``index`` of dataset ``seed``: depends on (config, seed, index) only.

    Args:
        catalog: the objects' assets (``build_catalog(config.objects.assets, ...)``).
        distractors: the distractors' assets; needed when ``config.distractors.count`` can be > 0.
        images: the texture images and background photos, when the config uses them.
        attempt: the try, when frame constraints resample (see ``frame_rngs``).
    """
    images = images or ImagePools()
    rngs = frame_rngs(seed, index, attempt)
    camera = sample_camera(config.camera, config.image, rng=rngs["camera"])
    placed: list = []
    objects = sample_objects(
        config.objects, config.material, catalog, rng=rngs["objects"], material_rng=rngs["materials"],
        camera=camera, index=index, placed=placed, texture_images=images.textures,
    )
    if config.distractors.count.support()[1] > 0:
        if distractors is None:
            raise ValueError("config.distractors.count can be > 0: pass the distractors' catalog")
        objects += sample_distractors(
            config.distractors, config.objects, config.material, distractors, rng=rngs["distractors"],
            camera=camera, index=index, placed=placed, first_id=len(objects) + 1, texture_images=images.textures,
        )
    if config.objects.placement == "physics":
        from vizsynth.sampling.physics import place_physics

        objects = place_physics(objects, config.objects.physics, [catalog, distractors], rng=rngs["physics"],
                                index=index)
    lights = sample_lights(config.lights, rng=rngs["lights"])
    background_rgb, background = sample_background(config.background, images.backgrounds, rng=rngs["background"])
    floor_color = tuple(float(c.sample(rng=rngs["background"])) for c in config.background.floor_color)
    if config.background.floor:
        # Drawn after everything else of the stream, so floors without textures stay as they were.
        textured = rngs["background"].uniform() < float(config.background.floor_texture_probability.sample(
            rng=rngs["background"]))
        texture = sample_texture(config.background.floor_textures, rng=rngs["background"], images=images.textures)
        objects += (floor_object(len(objects) + 1, floor_color, texture if textured else None),)
    ambient = tuple(float(c.sample(rng=rngs["lights"])) for c in config.lights.ambient)
    effects = sample_effects(config.effects, rng=rngs["effects"])
    return SceneSpec(camera=camera, objects=objects, lights=lights, background_rgb=background_rgb,
                     ambient_rgb=ambient, effects=effects, background=background)
