"""Sensor effects change pixels, never labels; a frame replays bit-identically from its record."""

from __future__ import annotations

import numpy as np
import pytest

import vizsynth
from vizsynth.cli import main
from vizsynth.config import load_config
from vizsynth.errors import ConfigError

SMALL = {"image": {"width": 96, "height": 72}}
EFFECTS = {
    "noise_std": 0.04, "poisson_photons": 300, "blur_sigma_px": {"uniform": [0.3, 1.5]},
    "motion_blur_px": {"uniform": [2, 6]}, "vignetting": 0.4, "brightness": 0.05, "contrast": 1.2,
    "saturation": 0.7, "hue_shift_deg": {"uniform": [-30, 30]}, "gamma": 1.3, "jpeg_quality": {"uniform": [20, 60]},
}


@pytest.mark.gl
def test_effects_change_pixels_but_not_labels():
    plain = vizsynth.render_frame(SMALL, seed=3, index=2)
    noisy = vizsynth.render_frame({**SMALL, "effects": EFFECTS}, seed=3, index=2)
    assert plain.spec.effects is None
    assert all(getattr(noisy.spec.effects, k) == v for k, v in EFFECTS.items() if not isinstance(v, dict))
    assert (noisy.rgb != plain.rgb).mean() > 0.5
    np.testing.assert_array_equal(noisy.instance_ids, plain.instance_ids)
    np.testing.assert_array_equal(noisy.depth_m, plain.depth_m)
    assert [a.bbox_xywh for a in noisy.annotations.objects] == [a.bbox_xywh for a in plain.annotations.objects]
    # Effects draw from their own stream: the scene itself is the same.
    np.testing.assert_array_equal(noisy.spec.camera.world_to_cam, plain.spec.camera.world_to_cam)


@pytest.mark.gl
def test_replay_is_bit_identical_with_effects(tmp_path, capsys):
    out = tmp_path / "data"
    assert vizsynth.generate({**SMALL, "effects": EFFECTS}, out, num_frames=4, seed=9, progress=False).ok
    assert main(["replay", str(out), "--frame", "2", "--out", str(tmp_path / "again")]) == 0
    printed = capsys.readouterr().out
    assert "4/4 files byte-identical" in printed and "DIFFERENT" not in printed
    assert main(["replay", str(out), "--frame", "7", "--out", str(tmp_path / "none")]) == 2


@pytest.mark.parametrize("field, value, fragment", [
    ("noise_std", -0.1, ">= 0"), ("vignetting", 1.5, "<= 1"), ("gamma", 0, "> 0"),
    ("jpeg_quality", {"uniform": [0, 50]}, ">= 1"), ("brightness", {"normal": [0, 0.1]}, ">= -1"),
])
def test_bad_effect_values_are_named(field, value, fragment):
    with pytest.raises(ConfigError) as info:
        load_config({"effects": {field: value}})
    assert f"effects.{field}" in str(info.value) and fragment in str(info.value)
