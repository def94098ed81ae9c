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
        ({"objects": {"placement": "floating"}}, ["objects.placement", "'scatter', 'flying', 'tabletop' or 'physics'"]),
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
        ({"output": {"formats": ["coco", "pascal"]}}, ["output.formats.1", "'coco', 'yolo', 'bop' or 'mot'", "pascal"]),
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


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"objects": {"count": 10**6}}, ["objects.count", "<= 1000", "1000000"]),
        ({"distractors": {"count": {"uniform": [0, 5000]}}}, ["distractors.count", "<= 1000", "5000"]),
        ({"lights": {"count": 9}}, ["lights.count", "<= 4", "9"]),
        ({"objects": {"max_placement_tries": 10**9}}, ["objects.max_placement_tries", "less than or equal to 10000"]),
        ({"constraints": {"max_tries": 10**6}}, ["constraints.max_tries", "less than or equal to 1000"]),
        ({"constraints": {"min_visible_objects": 5000}}, ["constraints.min_visible_objects", "1000"]),
    ],
)
def test_counts_are_bounded(data, expected):
    with pytest.raises(ConfigError) as info:
        load_config(data)
    for fragment in expected:
        assert fragment in str(info.value)


HUGE = {"uniform": [-1e308, 1e308]}


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"effects": {"blur_sigma_px": 1e9}}, ["effects.blur_sigma_px", "<= 100", "1e+09"]),
        ({"effects": {"motion_blur_px": 1e4}}, ["effects.motion_blur_px", "<= 500"]),
        ({"effects": {"noise_std": 2}}, ["effects.noise_std", "<= 1"]),
        ({"effects": {"poisson_photons": 1e300}}, ["effects.poisson_photons", "<= 1e+09"]),
        ({"effects": {"contrast": HUGE}}, ["effects.contrast", "<= 100"]),
        ({"effects": {"hue_shift_deg": HUGE}}, ["effects.hue_shift_deg", "<= 3600"]),
        ({"objects": {"primitive_size_m": HUGE}}, ["objects.primitive_size_m", "<= 100", "-1e+308"]),
        ({"objects": {"mesh_scale": 1e9}}, ["objects.mesh_scale", "<= 1000"]),
        ({"objects": {"position_m": [0, HUGE, 0]}}, ["objects.position_m.1", "<= 10000"]),
        ({"objects": {"flying_depth_m": 1e308}}, ["objects.flying_depth_m", "<= 10000"]),
        ({"objects": {"tabletop_extent_m": [1e308, 1]}},
         ["objects.tabletop_extent_m.0", "less than or equal to 10000"]),
        ({"distractors": {"size_m": 1e5}}, ["distractors.size_m", "<= 100"]),
        ({"camera": {"distance_m": HUGE}}, ["camera.distance_m", "> 0", "<= 10000"]),
        ({"camera": {"yfov_deg": 180}}, ["camera.yfov_deg", "<= 170"]),
        ({"camera": {"roll_deg": {"normal": [0, 1e300]}}}, ["camera.roll_deg", "<= 3600", "mean ± 6 std"]),
        ({"camera": {"look_at_jitter_m": 1e300}}, ["camera.look_at_jitter_m", "<= 10000"]),
        ({"camera": {"principal_point_jitter_px": 1e300}}, ["camera.principal_point_jitter_px", "<= 10000"]),
        ({"camera": {"intrinsics": {"fx": 1e300, "fy": 1, "cx": 0, "cy": 0}}}, ["camera.intrinsics.fx"]),
        ({"camera": {"zfar_m": 1e300}}, ["camera.zfar_m", "less than or equal to 65535"]),
        ({"lights": {"intensity": 1e300}}, ["lights.intensity", "<= 1000"]),
        ({"lights": {"distance_m": 1e300}}, ["lights.distance_m", "<= 10000"]),
        ({"lights": {"azimuth_deg": HUGE}}, ["lights.azimuth_deg", "<= 3600"]),
        ({"background": {"image_zoom": 1e300}}, ["background.image_zoom", "<= 100"]),
        ({"output": {"depth_scale_m": 1e300}}, ["output.depth_scale_m", "less than or equal to 1"]),
        ({"annotate": {"keypoint_occlusion_tolerance_m": 1e300}}, ["annotate.keypoint_occlusion_tolerance_m"]),
        ({"objects": {"assets": [{"primitive": "cube", "weight": 1e300}]}}, ["objects.assets.0.primitive.weight"]),
        ({"objects": {"assets": [{"mesh": "m.ply", "category": "m", "unit_scale_m": 1e300}]}},
         ["objects.assets.0.mesh.unit_scale_m", "less than or equal to 1000"]),
        ({"split": {"fractions": [0, 0, 0]}}, ["split.fractions", "positive sum"]),
    ],
)
def test_numeric_fields_have_physical_bounds(data, expected):
    with pytest.raises(ConfigError) as info:
        load_config(data)
    for fragment in expected:
        assert fragment in str(info.value)


def test_periodic_and_position_fields_accept_unclipped_normals():
    config = load_config({"camera": {"roll_deg": {"normal": [0, 5]}},
                          "objects": {"position_m": [{"normal": [0, 0.1]}, 0, 0]}})
    assert config.camera.roll_deg.kind == "normal" and config.objects.position_m[0].kind == "normal"


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"objects": {"count": {"uniform": [NAN, 3]}}}, ["objects.count", "finite", "nan"]),
        ({"camera": {"yfov_deg": {"uniform": [40, INF]}}}, ["camera.yfov_deg", "finite", "inf"]),
        ({"camera": {"azimuth_deg": {"normal": [0, NAN]}}}, ["camera.azimuth_deg", "finite", "nan"]),
        ({"camera": {"azimuth_deg": {"normal": [0, 1], "clip": [-INF, 5]}}}, ["camera.azimuth_deg", "finite"]),
        ({"effects": {"gamma": {"loguniform": [0.5, INF]}}}, ["effects.gamma", "finite", "inf"]),
        ({"effects": {"noise_std": {"choice": [0.1, NAN]}}}, ["effects.noise_std", "finite", "nan"]),
        ({"lights": {"type": {"choice": ["spot", "point"], "weights": [1, NAN]}}}, ["lights.type", "finite"]),
        ({"camera": {"roll_deg": INF}}, ["camera.roll_deg", "finite number", "inf"]),
        ({"objects": {"position_m": [0, NAN, 0]}}, ["objects.position_m.1", "finite number"]),
        ({"camera": {"znear_m": NAN}}, ["camera.znear_m", "finite number"]),
        ({"objects": {"tabletop_extent_m": [INF, 1]}}, ["objects.tabletop_extent_m.0", "finite number"]),
    ],
)
def test_inf_and_nan_are_refused_by_load_config(data, expected):
    with pytest.raises(ConfigError) as info:
        load_config(data)
    for fragment in expected:
        assert fragment in str(info.value)


def test_inf_and_nan_are_refused_by_python_constructors():
    from vizsynth.config import CameraConfig, ObjectsConfig
    from vizsynth.distributions import Param

    with pytest.raises(ConfigError, match=r"DatasetConfig: field 'objects.count': uniform needs finite numbers"):
        DatasetConfig(objects={"count": {"uniform": [float("nan"), 3]}})
    with pytest.raises(ConfigError, match=r"ObjectsConfig: field 'count': uniform needs finite numbers"):
        DatasetConfig(objects=ObjectsConfig(count=Param("uniform", (0.0, float("inf")))))
    with pytest.raises(ConfigError, match=r"CameraConfig: field 'zfar_m'.*finite"):
        CameraConfig(zfar_m=float("inf"))
    with pytest.raises(ConfigError, match=r"objects.primitive_size_m.*<= 100"):
        load_config(DatasetConfig().model_copy(update={"objects": ObjectsConfig().model_copy(
            update={"primitive_size_m": Param("constant", (1e300,))})}))


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_empty_category_names_are_refused(name):
    for asset in ({"mesh": "m.ply", "category": name}, {"folder": "models", "category": name}):
        with pytest.raises(ConfigError) as info:
            load_config({"objects": {"assets": [asset]}})
        assert "objects.assets.0" in str(info.value) and "category" in str(info.value)
        assert "empty or blank" in str(info.value) and repr(name) in str(info.value)


def test_non_utf8_config_file_names_file_and_byte_offset(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("objects:\n  count: 2  # café\n".encode("latin-1"))
    offset = path.read_bytes().index(b"\xe9")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message and "not UTF-8" in message
    assert f"byte offset {offset}" in message and "0xe9" in message


def test_show_config_writes_integer_counts_as_integers(capsys, tmp_path):
    from vizsynth.cli import main

    assert main(["show-config", "--set", "distractors.count={uniform: [1, 4]}"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["objects"]["count"] == {"uniform": [3, 6]}
    assert printed["distractors"]["count"] == {"uniform": [1, 4]}
    assert printed["lights"]["count"] == {"uniform": [1, 3]}
    assert all(type(v) is int for v in printed["objects"]["count"]["uniform"])
    assert printed["objects"]["primitive_size_m"] == {"uniform": [0.12, 0.3]}  # floats stay floats
    (tmp_path / "shown.yaml").write_text(yaml.safe_dump(printed))
    assert load_config(tmp_path / "shown.yaml", ["distractors.count={uniform: [1, 4]}"]) == load_config(
        None, ["distractors.count={uniform: [1, 4]}"]), "the printed config loads back to the same config"
