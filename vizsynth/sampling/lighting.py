"""Light sampling: lights on a sphere around the world origin, shining at it."""

from __future__ import annotations

import numpy as np

from vizsynth.config import LightsConfig
from vizsynth.sampling.geometry import spherical_offset
from vizsynth.scene import LightSpec


def sample_lights(config: LightsConfig, *, rng: np.random.Generator) -> tuple[LightSpec, ...]:
    """Draws ``count`` lights. Point and spot intensities are scaled by distance squared, so
    ``intensity`` is the irradiance they give at the origin whatever their distance."""
    lights = []
    for _ in range(config.count.sample(rng=rng, integer=True)):
        light_type = config.type.sample(rng=rng)
        intensity = config.intensity.sample(rng=rng)
        color = tuple(float(c.sample(rng=rng)) for c in config.color)
        distance = config.distance_m.sample(rng=rng)
        position = spherical_offset(distance, config.elevation_deg.sample(rng=rng), config.azimuth_deg.sample(rng=rng))
        cone = config.spot_cone_deg.sample(rng=rng)
        if light_type != "directional":
            intensity *= distance**2
        direction = -position / np.linalg.norm(position)
        lights.append(LightSpec(
            light_type, color, float(intensity), tuple(map(float, position)), tuple(map(float, direction)), float(cone)
        ))
    return tuple(lights)
