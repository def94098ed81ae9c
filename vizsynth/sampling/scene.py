"""sample_scene: config + seed + frame index -> SceneSpec."""

from __future__ import annotations

from vizsynth.assets.catalog import AssetCatalog
from vizsynth.config import DatasetConfig
from vizsynth.effects import is_identity, sample_effects
from vizsynth.sampling.camera import sample_camera
from vizsynth.sampling.lighting import sample_lights
from vizsynth.sampling.objects import sample_objects
from vizsynth.scene import SceneSpec
from vizsynth.seeding import frame_rngs


def sample_scene(config: DatasetConfig, catalog: AssetCatalog, *, seed: int, index: int) -> SceneSpec:
    """Frame ``index`` of dataset ``seed``: depends on (config, seed, index) only."""
    rngs = frame_rngs(seed, index)
    camera = sample_camera(config.camera, config.image, rng=rngs["camera"])
    objects = sample_objects(
        config.objects, config.material, catalog, rng=rngs["objects"], material_rng=rngs["materials"],
        camera=camera, index=index,
    )
    lights = sample_lights(config.lights, rng=rngs["lights"])
    background = tuple(float(c.sample(rng=rngs["background"])) for c in config.background.color)
    ambient = tuple(float(c.sample(rng=rngs["lights"])) for c in config.lights.ambient)
    effects = sample_effects(config.effects, rng=rngs["effects"])
    return SceneSpec(camera=camera, objects=objects, lights=lights, background_rgb=background, ambient_rgb=ambient,
                     effects={} if is_identity(effects) else effects)
