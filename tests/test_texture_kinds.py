"""Each texture kind: deterministic for its seed, the asked size, uint8 values within its colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vizsynth.appearance.textures import PROCEDURAL_TEXTURES, TEXTURE_KINDS, Texture, make_texture, sample_texture

ASSETS = Path(__file__).resolve().parents[1] / "assets"
COLORS = ((0.2, 0.4, 0.1), (0.8, 0.5, 0.9))


@pytest.mark.parametrize("kind", PROCEDURAL_TEXTURES)
def test_procedural_kind_is_deterministic_sized_and_in_range(kind):
    texture = Texture(kind, COLORS, cells=5, angle_deg=30.0, seed=3)
    a, b = make_texture(texture, 64), make_texture(texture, 64)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert a.std() > 5, "a pattern, not a flat colour"
    if kind != "blocks":  # blocks draw their own colours; the others blend the two given ones
        low, high = np.minimum(*COLORS), np.maximum(*COLORS)
        assert (a >= np.floor(low * 255) - 1).all() and (a <= np.ceil(high * 255)).all()


@pytest.mark.parametrize("kind", ["noise", "blocks"])
def test_random_kinds_change_with_the_seed(kind):
    a = make_texture(Texture(kind, COLORS, cells=5, seed=3), 32)
    b = make_texture(Texture(kind, COLORS, cells=5, seed=4), 32)
    assert (a != b).any()


def test_image_kind_reads_and_resizes_the_file():
    path = sorted((ASSETS / "textures").iterdir())[0]
    image = make_texture(Texture("image", path=str(path)), 40)
    assert image.shape == (40, 40, 3) and image.dtype == np.uint8 and image.std() > 1
    np.testing.assert_array_equal(image, make_texture(Texture("image", path=str(path)), 40))


def test_kinds_are_listed_once_and_sampling_draws_the_same_whatever_the_kind():
    assert TEXTURE_KINDS == (*PROCEDURAL_TEXTURES, "image") and len(set(TEXTURE_KINDS)) == len(TEXTURE_KINDS)
    rngs = [np.random.default_rng(9) for _ in range(2)]
    a = sample_texture(("checker",), rng=rngs[0])
    b = sample_texture(("image",), rng=rngs[1], images=("x.png",))
    assert (a.colors, a.cells, a.seed) == (b.colors, b.cells, b.seed) and b.path == "x.png" and a.path is None
    assert rngs[0].integers(1 << 30) == rngs[1].integers(1 << 30)
