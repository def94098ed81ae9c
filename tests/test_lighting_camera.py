"""Shadows, a backdrop floor, colour temperature and intrinsics jitter."""

from __future__ import annotations

import numpy as np
import pytest

import vizsynth
from vizsynth.config import load_config
from vizsynth.errors import ConfigError
from vizsynth.sampling.lighting import blackbody_rgb

TABLE = {"image": {"width": 160, "height": 120}, "objects": {"placement": "tabletop", "count": 4},
         "background": {"floor": True}, "lights": {"type": "directional", "count": 1, "elevation_deg": 50}}


@pytest.mark.gl
def test_shadows_on_the_floor_change_pixels_not_labels():
    lit = vizsynth.render_frame(TABLE, seed=0, index=0)
    shadowed = vizsynth.render_frame({**TABLE, "render": {"shadows": True}}, seed=0, index=0)
    np.testing.assert_array_equal(lit.instance_ids, shadowed.instance_ids)
    np.testing.assert_array_equal(lit.depth_m, shadowed.depth_m)
    darker = shadowed.rgb.astype(int).sum(axis=-1) < lit.rgb.astype(int).sum(axis=-1) - 10
    assert darker.sum() > 50, "shadows darken part of the floor"


@pytest.mark.gl
def test_floor_is_geometry_but_never_labelled():
    frame = vizsynth.render_frame(TABLE, seed=0, index=1)
    floor = next(o for o in frame.spec.objects if o.category == "floor")
    assert floor.distractor
    assert [a.category for a in frame.annotations.objects] == [o.category for o in frame.spec.objects[:-1]]
    seen = frame.instance_ids == floor.instance_id
    assert seen.mean() > 0.3 and (frame.depth_m[seen] > 0).all()


@pytest.mark.gl
def test_colour_temperature_and_intrinsics_jitter():
    config = {"image": {"width": 160, "height": 120},
              "lights": {"color_temperature_k": {"uniform": [2700, 3000]}, "count": 3},
              "camera": {"yfov_deg": 50, "focal_jitter": {"uniform": [-0.05, 0.05]},
                         "principal_point_jitter_px": {"uniform": [-4, 4]}}}
    for index in range(5):
        spec = vizsynth.render_frame(config, seed=1, index=index).spec
        for light in spec.lights:
            assert light.color[0] == 1.0 and light.color[2] < light.color[1] < 1.0, "warm light: red > green > blue"
        f0 = (120 / 2) / np.tan(np.deg2rad(25))
        K = spec.camera.K
        assert abs(K[0, 0] / f0 - 1) <= 0.05 and abs(K[1, 1] / f0 - 1) <= 0.05 and K[0, 0] != K[1, 1]
        assert abs(K[0, 2] - 79.5) <= 4 and abs(K[1, 2] - 59.5) <= 4
    assert blackbody_rgb(6600) == pytest.approx((1.0, 1.0, 1.0), abs=0.02)


@pytest.mark.parametrize("data, fragment", [
    ({"lights": {"color_temperature_k": 500}}, "lights.color_temperature_k"),
    ({"camera": {"focal_jitter": 0.7}}, "camera.focal_jitter"),
    ({"background": {"floor": "yes please"}}, "background.floor"),
    ({"render": {"shadows": 2}}, "render.shadows"),
])
def test_bad_lighting_and_camera_values(data, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(data)
