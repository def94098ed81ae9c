"""Light sampling: lights on a sphere around the world origin, shining at it."""

from __future__ import annotations

import numpy as np

from vizsynth.config import LightsConfig
from vizsynth.sampling.poses import spherical_offset
from vizsynth.scene import LightSpec


def blackbody_rgb(kelvin: float) -> tuple[float, float, float]:
    """Approximate RGB in [0, 1] of a black body at ``kelvin`` (Tanner Helland's fit to the CIE
    colour-matching data, 1000-40000 K), normalised so its largest channel is 1."""
    t = kelvin / 100.0
    red = 1.0 if t <= 66 else 1.292936186 * (t - 60) ** -0.1332047592
    green = 0.390081579 * np.log(t) - 0.631841444 if t <= 66 else 1.129890861 * (t - 60) ** -0.0755148492
    blue = 1.0 if t >= 66 else (0.0 if t <= 19 else 0.543206789 * np.log(t - 10) - 1.196254089)
    rgb = np.clip([red, green, blue], 0.0, 1.0)
    return tuple(float(c) for c in rgb / rgb.max())


def sample_lights(config: LightsConfig, *, rng: np.random.Generator) -> tuple[LightSpec, ...]:
    """Draws ``count`` lights. Point and spot intensities are scaled by distance squared, so
    ``intensity`` is the irradiance they give at the origin whatever their distance. With
    ``color_temperature_k`` the colour is a black body's (drawn after the other values)."""
    lights = []
    for _ in range(config.count.sample(rng=rng, integer=True)):
        light_type = config.type.sample(rng=rng)
        intensity = config.intensity.sample(rng=rng)
        color = tuple(float(c.sample(rng=rng)) for c in config.color)
        distance = config.distance_m.sample(rng=rng)
        position = spherical_offset(distance, config.elevation_deg.sample(rng=rng), config.azimuth_deg.sample(rng=rng))
        cone = config.spot_cone_deg.sample(rng=rng)
        if config.color_temperature_k is not None:
            color = blackbody_rgb(config.color_temperature_k.sample(rng=rng))
        if light_type != "directional":
            intensity *= distance**2
        direction = -position / np.linalg.norm(position)
        lights.append(LightSpec(
            light_type, color, float(intensity), tuple(map(float, position)), tuple(map(float, direction)), float(cone)
        ))
    return tuple(lights)
