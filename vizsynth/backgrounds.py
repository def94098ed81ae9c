"""Backgrounds behind the rendered objects: procedural textures and photos, composited after
rendering with the colour pass's coverage (alpha), so antialiased edges blend correctly.
Background pixels keep depth 0 and instance 0: only the RGB changes."""

from __future__ import annotations

import cv2
import numpy as np

from vizsynth.errors import AssetError
from vizsynth.imagefiles import read_image
from vizsynth.textures import make_texture


def background_image(background: dict, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a procedural or photo background dict.

    Raises:
        AssetError: a photo cannot be read.
    """
    if background["kind"] == "procedural":
        side = max(width, height)
        return np.ascontiguousarray(make_texture(background["texture"], side)[:height, :width])
    image = read_image(background["path"], cv2.IMREAD_COLOR)
    if image is None:
        raise AssetError(f"background photo {background['path']} cannot be read")
    h, w = image.shape[:2]
    x, y, cw, ch = background["crop"]
    crop = image[int(y * h):int(y * h) + max(1, int(ch * h)), int(x * w):int(x * w) + max(1, int(cw * w))]
    if background["flip"]:
        crop = crop[:, ::-1]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)[..., ::-1].copy()


def composite(rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Objects over a background: ``rgb + (1 - alpha) * background`` (the colour pass cleared to
    transparent black, so its RGB is already weighted by coverage)."""
    weight = 1.0 - alpha[..., None].astype(np.float32) / 255.0
    out = rgb.astype(np.float32) + weight * background.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
