"""Textures: procedural (noise, checker, stripes, gradient, colour blocks) or image files.

A texture is decided as a small plain dict (kind, colours, scale, seed) by ``sample_texture`` and
made into pixels by ``make_texture``, deterministically: the dict is recorded with the frame, so a
replay makes the same image.
"""

from __future__ import annotations

import cv2
import numpy as np

from vizsynth.errors import AssetError
from vizsynth.imagefiles import read_image


def sample_texture(kinds: tuple[str, ...], *, rng: np.random.Generator, images: tuple[str, ...] = ()) -> dict:
    """Draws a texture: kind, two colours (RGB in [0, 1]), cells per side, angle, a pixel seed and,
    for kind "image", one of ``images`` (the same draws are made whatever the kind)."""
    texture = {
        "kind": str(kinds[int(rng.integers(len(kinds)))]),
        "colors": rng.uniform(0.0, 1.0, size=(2, 3)).round(6).tolist(),
        "cells": int(rng.integers(2, 12)),
        "angle_deg": float(rng.uniform(0.0, 180.0)),
        "seed": int(rng.integers(0, 2**31 - 1)),
    }
    pick = int(rng.integers(max(len(images), 1)))
    if texture["kind"] == "image":
        texture["path"] = images[pick]
    return texture


def make_texture(texture: dict, size: int = 256) -> np.ndarray:
    """(size, size, 3) uint8 RGB image of a texture dict (the same dict gives the same pixels).

    Raises:
        AssetError: an image texture cannot be read.
    """
    if texture["kind"] == "image":
        image = read_image(texture["path"], cv2.IMREAD_COLOR)
        if image is None:
            raise AssetError(f"texture image {texture['path']} cannot be read")
        return np.ascontiguousarray(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)[..., ::-1])
    rng = np.random.default_rng(texture["seed"])
    cells, kind = texture["cells"], texture["kind"]
    a, b = (np.asarray(c, dtype=np.float32) for c in texture["colors"])
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = np.deg2rad(texture["angle_deg"])
    along = x * np.cos(angle) + y * np.sin(angle)
    if kind == "checker":
        t = ((np.floor(x * cells) + np.floor(y * cells)) % 2).astype(np.float32)
    elif kind == "stripes":
        t = (np.floor(along * cells * 2) % 2).astype(np.float32)
    elif kind == "gradient":
        t = (along - along.min()) / max(float(along.max() - along.min()), 1e-6)
    elif kind == "blocks":
        grid = rng.uniform(0, 1, size=(cells, cells, 3)).astype(np.float32)
        return (cv2.resize(grid, (size, size), interpolation=cv2.INTER_NEAREST) * 255).astype(np.uint8)
    else:  # noise: value noise, four octaves
        t = np.zeros((size, size), np.float32)
        for octave in range(4):
            n = cells * 2**octave
            grid = rng.uniform(0, 1, size=(n + 1, n + 1)).astype(np.float32)
            t += cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC) / 2 ** (octave + 1)
        t = np.clip(t / 0.9375, 0, 1)
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
