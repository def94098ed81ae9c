"""Textures: procedural (noise, checker, stripes, gradient, colour blocks) or image files.

A texture is decided as a small ``Texture`` (kind, colours, scale, seed) by ``sample_texture`` and
made into pixels by ``make_texture``, deterministically: it is recorded with the frame, so a replay
makes the same image. A procedural kind is one entry of ``PATTERNS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import cv2
import numpy as np
from pydantic import ConfigDict, Field, model_serializer, model_validator

from vizsynth.errors import AssetError
from vizsynth.imagefiles import read_image

Color = tuple[float, float, float]


def _checker(x: np.ndarray, y: np.ndarray, along: np.ndarray, cells: int, rng: np.random.Generator) -> np.ndarray:
    return ((np.floor(x * cells) + np.floor(y * cells)) % 2).astype(np.float32)


def _stripes(x: np.ndarray, y: np.ndarray, along: np.ndarray, cells: int, rng: np.random.Generator) -> np.ndarray:
    return (np.floor(along * cells * 2) % 2).astype(np.float32)


def _gradient(x: np.ndarray, y: np.ndarray, along: np.ndarray, cells: int, rng: np.random.Generator) -> np.ndarray:
    return (along - along.min()) / max(float(along.max() - along.min()), 1e-6)


def _noise(x: np.ndarray, y: np.ndarray, along: np.ndarray, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Value noise, four octaves."""
    size = x.shape[0]
    t = np.zeros((size, size), np.float32)
    for octave in range(4):
        n = cells * 2**octave
        grid = rng.uniform(0, 1, size=(n + 1, n + 1)).astype(np.float32)
        t += cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC) / 2 ** (octave + 1)
    return np.clip(t / 0.9375, 0, 1)


# Procedural kinds: each maps pixel coordinates in [0, 1) (x, y, and ``along`` the texture's angle),
# the cell count and the texture's own generator to (size, size) float32 blend weights in [0, 1]
# between its two colours. "blocks" (random colours, not a blend) and "image" are made apart.
PATTERNS: dict[str, Callable[..., np.ndarray]] = {
    "noise": _noise, "checker": _checker, "stripes": _stripes, "gradient": _gradient,
}
PROCEDURAL_TEXTURES = (*PATTERNS, "blocks")
TEXTURE_KINDS = (*PROCEDURAL_TEXTURES, "image")


@dataclass(frozen=True)
class Texture:
    """A texture, decided by ``sample_texture`` or given in a scene file; ``make_texture`` makes its pixels.

    Attributes:
        kind: one of TEXTURE_KINDS.
        colors: the two linear RGB colours in [0, 1] a procedural pattern blends.
        cells: pattern cells per side.
        angle_deg: direction of stripes and gradients.
        seed: seed of the random patterns (noise, blocks).
        path: the image file of kind "image", else None.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")

    kind: Literal[TEXTURE_KINDS]  # type: ignore[valid-type]
    colors: tuple[Color, Color] = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    cells: Annotated[int, Field(ge=1)] = 4
    angle_deg: float = 0.0
    seed: Annotated[int, Field(ge=0)] = 0
    path: str | None = None

    @model_validator(mode="after")
    def _image_path(self) -> Texture:
        if self.kind == "image" and self.path is None:
            raise ValueError("an image texture needs a 'path'")
        return self

    @model_serializer(mode="wrap")
    def _without_path(self, handler) -> dict:
        values = handler(self)
        if values["path"] is None:
            del values["path"]
        return values


def sample_texture(kinds: tuple[str, ...], *, rng: np.random.Generator, images: tuple[str, ...] = ()) -> Texture:
    """Draws a texture: kind, two colours (RGB in [0, 1]), cells per side, angle, a pixel seed and,
    for kind "image", one of ``images`` (the same draws are made whatever the kind)."""
    kind = str(kinds[int(rng.integers(len(kinds)))])
    colors = tuple(tuple(c) for c in rng.uniform(0.0, 1.0, size=(2, 3)).round(6).tolist())
    cells = int(rng.integers(2, 12))
    angle_deg = float(rng.uniform(0.0, 180.0))
    seed = int(rng.integers(0, 2**31 - 1))
    pick = int(rng.integers(max(len(images), 1)))
    return Texture(kind, colors, cells, angle_deg, seed, images[pick] if kind == "image" else None)


def make_texture(texture: Texture, size: int = 256) -> np.ndarray:
    """(size, size, 3) uint8 RGB image of a texture (the same texture gives the same pixels).

    Raises:
        AssetError: an image texture cannot be read.
    """
    if texture.kind == "image":
        image = read_image(texture.path, cv2.IMREAD_COLOR)
        if image is None:
            raise AssetError(f"texture image {texture.path} cannot be read")
        return np.ascontiguousarray(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)[..., ::-1])
    rng = np.random.default_rng(texture.seed)
    if texture.kind == "blocks":
        grid = rng.uniform(0, 1, size=(texture.cells, texture.cells, 3)).astype(np.float32)
        return (cv2.resize(grid, (size, size), interpolation=cv2.INTER_NEAREST) * 255).astype(np.uint8)
    a, b = (np.asarray(c, dtype=np.float32) for c in texture.colors)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = np.deg2rad(texture.angle_deg)
    along = x * np.cos(angle) + y * np.sin(angle)
    t = PATTERNS[texture.kind](x, y, along, texture.cells, rng)
    image = a + (b - a) * t[..., None]
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def spherical_uv(vertices: np.ndarray) -> np.ndarray:
    """(N, 2) texture coordinates by spherical projection about the vertices' bounding-box centre,
    for meshes that have none."""
    centred = vertices - (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    radius = np.linalg.norm(centred, axis=1) + 1e-12
    u = np.arctan2(centred[:, 1], centred[:, 0]) / (2 * np.pi) + 0.5
    v = np.arccos(np.clip(centred[:, 2] / radius, -1, 1)) / np.pi
    return np.column_stack([u, v])
