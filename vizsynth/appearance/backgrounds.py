"""Backgrounds behind the rendered objects: procedural textures and photos, composited after
rendering with the colour pass's coverage (alpha), so antialiased edges blend correctly.
Background pixels keep depth 0 and instance 0: only the RGB changes."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import ConfigDict, model_serializer, model_validator

from vizsynth.appearance.textures import Texture, make_texture
from vizsynth.errors import AssetError
from vizsynth.imagefiles import read_image

BACKGROUND_KINDS = ("solid", "procedural", "image")

# The keys a background of each kind is recorded with (unless read from a record that gave others).
_RECORDED = {"solid": ("kind",), "procedural": ("kind", "texture"), "image": ("kind", "path", "crop", "flip")}


@dataclasses.dataclass(frozen=True)
class Background:
    """What is seen behind the objects.

    Attributes:
        kind: "solid" (the scene's ``background_rgb``), "procedural" (``texture``) or "image" (a photo).
        texture: the procedural background's texture.
        path: the photo's file.
        crop: (x, y, w, h) of the photo as fractions of its size.
        flip: mirror the crop left-right.
        given_keys: the keys a scene file gave, in their order: a non-solid background is recorded
            with exactly these, so a replayed record is written back byte-identical.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")

    kind: Literal[BACKGROUND_KINDS] = "solid"  # type: ignore[valid-type]
    texture: Texture | None = None
    path: str | None = None
    crop: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    flip: bool = False
    given_keys: tuple[str, ...] = dataclasses.field(default=(), init=False, compare=False, repr=False)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_given_keys(cls, data: Any, handler) -> Background:
        value = handler(data)
        if value.kind == "procedural" and value.texture is None:
            raise ValueError("a procedural background needs a 'texture'")
        if value.kind == "image" and value.path is None:
            raise ValueError("an image background needs a 'path'")
        if isinstance(data, dict) and value.kind != "solid":
            object.__setattr__(value, "given_keys", tuple(data))
        return value

    @model_serializer(mode="wrap")
    def _recorded_keys(self, handler) -> dict:
        values = handler(self)
        return {k: values[k] for k in self.given_keys or _RECORDED[self.kind]}


def background_image(background: Background, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a procedural or photo background.

    Raises:
        AssetError: a photo cannot be read.
    """
    if background.kind == "procedural":
        side = max(width, height)
        return np.ascontiguousarray(make_texture(background.texture, side)[:height, :width])
    image = read_image(background.path, cv2.IMREAD_COLOR)
    if image is None:
        raise AssetError(f"background photo {background.path} cannot be read")
    h, w = image.shape[:2]
    x, y, cw, ch = background.crop
    crop = image[int(y * h):int(y * h) + max(1, int(ch * h)), int(x * w):int(x * w) + max(1, int(cw * w))]
    if background.flip:
        crop = crop[:, ::-1]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)[..., ::-1].copy()


def composite(rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Objects over a background: ``rgb + (1 - alpha) * background`` (the colour pass cleared to
    transparent black, so its RGB is already weighted by coverage)."""
    weight = 1.0 - alpha[..., None].astype(np.float32) / 255.0
    out = rgb.astype(np.float32) + weight * background.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
