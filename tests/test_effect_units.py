"""Each sensor effect on its own: its identity value changes nothing, and one simple property holds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vizsynth.appearance.effects import EFFECTS, Effects, apply_effects, sample_effects
from vizsynth.config import EffectsConfig

RNG_SEED = 5


def _image() -> np.ndarray:
    """(48, 64, 3) uint8 with structure (gradients and a bright square), values away from 0 and 255."""
    y, x = np.mgrid[0:48, 0:64]
    image = np.stack([40 + 2 * x, 40 + 3 * y, 100 + x + y], axis=-1).astype(np.float64)
    image[16:32, 20:44] += 40
    return np.clip(image, 0, 255).astype(np.uint8)


def _with(**values: float) -> Effects:
    return Effects(noise_seed=RNG_SEED, **values)


def _apply_one(name: str, value: float, image: np.ndarray) -> np.ndarray:
    """Only ``name``'s own step, at ``value`` (the others at identity), through its registry unit."""
    effect = next(e for e in EFFECTS if e.name == name)
    out = effect.apply(image.astype(np.float32) / 255.0, _with(**{name: value}), np.random.default_rng(RNG_SEED))
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("effect", EFFECTS, ids=lambda e: e.name)
def test_identity_value_leaves_the_image_unchanged(effect):
    image = _image()
    np.testing.assert_array_equal(_apply_one(effect.name, effect.identity, image), image)


def test_registry_names_are_the_config_fields_in_order():
    assert tuple(EffectsConfig.model_fields) == tuple(e.name for e in EFFECTS)
    assert all(getattr(EffectsConfig(), e.name).sample(rng=np.random.default_rng(0)) == e.identity for e in EFFECTS)


def test_brightness_adds():
    image = _image()
    out = _apply_one("brightness", 20 / 255, image)
    np.testing.assert_array_equal(out.astype(int), image.astype(int) + 20)


def test_contrast_scales_about_the_mean():
    image = _image()
    out = _apply_one("contrast", 0.5, image).astype(float)
    assert out.std() == pytest.approx(image.std() / 2, rel=0.02)
    assert out.mean() == pytest.approx(image.mean(), abs=0.5)


@pytest.mark.parametrize("name, value", [("blur_sigma_px", 2.0), ("motion_blur_px", 5.0)])
def test_blurs_preserve_the_mean_and_smooth(name, value):
    image = _image()
    out = _apply_one(name, value, image).astype(float)
    assert out.mean() == pytest.approx(image.mean(), abs=1.0)
    assert np.abs(np.diff(out, axis=1)).sum() < np.abs(np.diff(image.astype(float), axis=1)).sum()


def test_gamma_is_monotone_and_brightens_above_one():
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    out = _apply_one("gamma", 2.0, ramp)[0, :, 0].astype(int)
    assert (np.diff(out) >= 0).all() and (out >= np.arange(256)).all() and out[0] == 0 and out[-1] == 255


def test_vignetting_darkens_corners_not_the_centre():
    image = np.full((48, 64, 3), 200, np.uint8)
    out = _apply_one("vignetting", 0.5, image).astype(int)
    assert out[0, 0, 0] < 150 and abs(out[24, 32, 0] - 200) <= 1


def test_saturation_zero_makes_grey():
    out = _apply_one("saturation", 0.0, _image()).astype(int)
    assert (out.max(axis=2) - out.min(axis=2)).max() <= 1


def test_hue_shift_of_a_full_turn_changes_nothing_and_a_third_rotates_channels():
    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 0] = 200  # pure red
    assert np.abs(apply_effects(image, _with(hue_shift_deg=360.0)).astype(int) - image).max() <= 1
    green = apply_effects(image, _with(hue_shift_deg=120.0)).astype(int)
    assert np.abs(green - [0, 200, 0]).max() <= 1


@pytest.mark.parametrize("name, value", [("noise_std", 0.05), ("poisson_photons", 100.0)])
def test_noise_is_unbiased_and_seeded(name, value):
    image = np.full((48, 64, 3), 128, np.uint8)
    a, b = apply_effects(image, _with(**{name: value})), apply_effects(image, _with(**{name: value}))
    np.testing.assert_array_equal(a, b)
    assert a.std() > 3 and abs(a.mean() - 128) < 1.5
    other = apply_effects(image, dataclasses.replace(_with(**{name: value}), noise_seed=RNG_SEED + 1))
    assert (other != a).any()


def test_jpeg_quality_loses_detail_but_keeps_the_mean():
    image = _image()
    out = _apply_one("jpeg_quality", 10.0, image).astype(float)
    assert (out != image).any() and out.mean() == pytest.approx(image.mean(), abs=2.0)


def test_sampling_at_identity_gives_none_and_records_in_draw_order():
    assert sample_effects(EffectsConfig(), rng=np.random.default_rng(0)) is None
    effects = sample_effects(EffectsConfig(gamma=1.5), rng=np.random.default_rng(0))
    assert effects.gamma == 1.5
    names = [e.name for e in EFFECTS]
    assert effects.given_keys == (*names, "motion_blur_angle_deg", "noise_seed")
