"""sample_scene: config + seed + frame index -> SceneSpec."""

from __future__ import annotations

from vizsynth.assets.catalog import AssetCatalog
from vizsynth.config import DatasetConfig
from vizsynth.effects import is_identity, sample_effects
from vizsynth.sampling.camera import sample_camera
from vizsynth.sampling.lighting import sample_lights
from vizsynth.sampling.objects import sample_distractors, sample_objects
from vizsynth.scene import SceneSpec
from vizsynth.seeding import frame_rngs


def sample_scene(config: DatasetConfig, catalog: AssetCatalog, *, seed: int, index: int,
                 distractors: AssetCatalog | None = None) -> SceneSpec:
    """Frame ``index`` of dataset ``seed``: depends on (config, seed, index) only.

    Args:
        catalog: the objects' assets (``build_catalog(config.objects.assets, ...)``).
        distractors: the distractors' assets; needed when ``config.distractors.count`` can be > 0.
    """
    rngs = frame_rngs(seed, index)
    camera = sample_camera(config.camera, config.image, rng=rngs["camera"])
    placed: list = []
    objects = sample_objects(
        config.objects, config.material, catalog, rng=rngs["objects"], material_rng=rngs["materials"],
        camera=camera, index=index, placed=placed,
    )
    if config.distractors.count.support()[1] > 0:
        if distractors is None:
            raise ValueError("config.distractors.count can be > 0: pass the distractors' catalog")
        objects += sample_distractors(
            config.distractors, config.objects, config.material, distractors, rng=rngs["distractors"],
            camera=camera, index=index, placed=placed, first_id=len(objects) + 1,
        )
    lights = sample_lights(config.lights, rng=rngs["lights"])
    background = tuple(float(c.sample(rng=rngs["background"])) for c in config.background.color)
    ambient = tuple(float(c.sample(rng=rngs["lights"])) for c in config.lights.ambient)
    effects = sample_effects(config.effects, rng=rngs["effects"])
    return SceneSpec(camera=camera, objects=objects, lights=lights, background_rgb=background, ambient_rgb=ambient,
                     effects={} if is_identity(effects) else effects)
