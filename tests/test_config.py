"""Config schema: defaults, round trips, overrides, and errors that name field, rule and value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from vizsynth.config import DatasetConfig, load_config
from vizsynth.distributions import parse_param
from vizsynth.errors import ConfigError

REPO = Path(__file__).parents[1]


def test_default_yaml_mirrors_builtin_default():
    assert load_config(REPO / "configs" / "default.yaml") == DatasetConfig()


def test_yaml_round_trip_is_equal(tmp_path):
    config = load_config(None, ["camera.yfov_deg={normal: [50, 5], clip: [30, 70]}", "objects.rotation=upright"])
    path = tmp_path / "c.yaml"
    path.write_text(config.to_yaml())
    assert load_config(path) == config


def test_overrides_parse_yaml_values():
    config = load_config(None, ["image.width=320", "lights.type={choice: [spot], weights: [1]}"])
    assert config.image.width == 320
    assert config.lights.type.sample(rng=np.random.default_rng(0)) == "spot"


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"camera": {"yfov": 40}}, ["unknown key 'camera.yfov'", "did you mean 'yfov_deg'"]),
        ({"camera": {"yfov_deg": {"uniform": [60, 40]}}}, ["camera.yfov_deg", "low <= high", "[60, 40]"]),
        ({"objects": {"count": -1}}, ["objects.count", ">= 0", "-1"]),
        ({"objects": {"count": {"uniform": [-2, 3]}}}, ["objects.count", ">= 0", "[-2, 3]"]),
        ({"image": {"width": 0}}, ["image.width", "greater than 0", "0"]),
        ({"objects": {"assets": [{"primitive": "cubee"}]}}, ["objects.assets.0", "'cube'", "cubee"]),
        ({"material": {"metallic": {"normal": [0.5, 0.1]}}}, ["material.metallic", "<= 1", "inf"]),
        ({"lights": {"type": {"choice": ["laser"]}}}, ["lights.type", "laser"]),
        ({"camera": {"znear_m": 2, "zfar_m": 1}}, ["znear_m < zfar_m"]),
        ({"objects": {"assets": [{"prim": "cube"}]}}, ["objects.assets.0", "'primitive', 'mesh' or 'folder'"]),
        ({"objects": {"placement": "floating"}}, ["objects.placement", "'scatter', 'flying' or 'tabletop'"]),
        ({"objects": {"tabletop_extent_m": [0.5, -1]}}, ["objects.tabletop_extent_m.1", "greater than 0"]),
        ({"objects": {"max_placement_tries": 0}}, ["objects.max_placement_tries", "greater than or equal to 1"]),
        ({"objects": {"flying_depth_m": {"uniform": [-1, 2]}}}, ["objects.flying_depth_m", "> 0"]),
        ({"distractors": {"count": -1}}, ["distractors.count", ">= 0"]),
        ({"distractors": {"assets": [{"primitive": "floor"}]}}, ["distractors.assets.0", "floor"]),
        ({"constraints": {"min_visibility": 2}}, ["constraints.min_visibility", "less than or equal to 1"]),
        ({"constraints": {"max_tries": 0}}, ["constraints.max_tries", "greater than or equal to 1"]),
        ({"constraints": {"min_visibility": 0.5}, "annotate": {"amodal": False}}, ["annotate.amodal: true"]),
        ({"split": {"use": "holdout"}}, ["split.use", "'train', 'val' or 'test'"]),
        ({"split": {"fractions": [0.8, -0.1, 0.3]}}, ["split.fractions.1", "greater than or equal to 0"]),
        ({"material": {"textures": ["image"]}}, ["material.texture_folder"]),
        ({"background": {"image_zoom": 0.5}}, ["background.image_zoom", ">= 1"]),
        ({"objects": {"balance": "sometimes"}}, ["objects.balance", "valid boolean"]),
        ({"annotate": {"min_visibility": 1.5}}, ["annotate.min_visibility", "less than or equal to 1", "1.5"]),
        ({"annotate": {"min_visible_pixels": 0}}, ["annotate.min_visible_pixels", "greater than or equal to 1"]),
        ({"output": {"formats": ["coco", "pascal"]}}, ["output.formats.1", "'coco', 'yolo' or 'bop'", "pascal"]),
        ({"output": {"yolo_task": "pose"}}, ["output.yolo_task", "'detect' or 'segment'"]),
        ({"objects": {"assets": [{"mesh": "m.ply", "category": "m", "keypoints": {"tip": [0, 0, 1]},
                                  "skeleton": [["tip", "tail"]]}]}}, ["skeleton names ['tail']", "['tip']"]),
    ],
)
def test_bad_values_name_field_rule_and_value(data, expected):
    with pytest.raises(ConfigError) as info:
        load_config(data)
    for fragment in expected:
        assert fragment in str(info.value)


def test_bad_yaml_file_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("image: {width: [1,\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


numbers = st.floats(-1e3, 1e3, allow_nan=False)


@given(low=numbers, high=numbers, seed=st.integers(0, 2**32))
def test_uniform_draws_stay_in_range_and_round_trip(low, high, seed):
    low, high = min(low, high), max(low, high)
    param = parse_param({"uniform": [low, high]})
    assert parse_param(yaml.safe_load(yaml.safe_dump(param.to_config()))) == param
    rng = np.random.default_rng(seed)
    assert all(low <= param.sample(rng=rng) <= high for _ in range(5))
    assert all(np.floor(low) <= param.sample(rng=rng, integer=True) <= np.ceil(high) for _ in range(5))


@given(seed=st.integers(0, 2**32))
def test_other_distributions_respect_their_support(seed):
    rng = np.random.default_rng(seed)
    clipped = parse_param({"normal": [0, 10], "clip": [-1, 2]})
    log = parse_param({"loguniform": [0.01, 10]})
    choice = parse_param({"choice": [1, 5, 9], "weights": [0, 1, 1]})
    for _ in range(5):
        assert -1 <= clipped.sample(rng=rng) <= 2
        assert 0.01 <= log.sample(rng=rng) <= 10
        assert choice.sample(rng=rng) in (5, 9)
