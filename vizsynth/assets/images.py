"""Image pools (texture images, background photos) and train/val/test splits of asset pools.

A file belongs to a split by a hash of its name, so the same file is in the same split on every
machine and in every dataset: a validation set made with ``split.use: val`` sees only assets,
textures and photos that no ``train`` dataset saw.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vizsynth.errors import AssetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
SPLITS = ("train", "val", "test")


def split_of(name: str, fractions: tuple[float, float, float]) -> str:
    """The split ("train", "val" or "test") of a file name, by its crc32 and the fractions."""
    position = (zlib.crc32(Path(name).name.encode()) % 10_000) / 10_000
    total = sum(fractions)
    bound = 0.0
    for split, fraction in zip(SPLITS, fractions):
        bound += fraction / total
        if position < bound:
            return split
    return SPLITS[-1]


def image_files(folder: str | None, what: str, split: str | None = None,
                fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> tuple[str, ...]:
    """The image files of a folder (sorted: their order is part of what a seed decides), keeping
    only those of ``split`` when one is given.

    Raises:
        AssetError: the folder is missing or holds no images (of the split), naming ``what``.
    """
    if folder is None:
        return ()
    path = Path(folder)
    if not path.is_dir():
        raise AssetError(f"{what} folder {path} does not exist")
    files = tuple(str(p) for p in sorted(path.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES)
    if split is not None:
        files = tuple(f for f in files if split_of(f, fractions) == split)
    if not files:
        where = f" in split '{split}'" if split else ""
        raise AssetError(f"{what} folder {path} holds no images{where} ({', '.join(IMAGE_SUFFIXES)})")
    return files


@dataclass(frozen=True)
class ImagePools:
    """The image files a config draws from: texture images and background photos."""

    textures: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()


def check_image_file(path: str, what: str) -> None:
    """Checks that OpenCV (which the renderer reads images with) can decode an image file.

    Decodes at 1/8 size: JPEGs then decode several times faster, and a broken file fails all the same.

    Raises:
        AssetError: the file cannot be read, is empty, or cannot be decoded, naming it.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AssetError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if not data:
        raise AssetError(f"{what} {path} is empty (0 bytes)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_8)
    if image is None or image.size == 0:
        raise AssetError(f"{what} {path} cannot be decoded as an image ({len(data)} bytes)")


def image_pools(config, check: bool = True) -> ImagePools:
    """The texture images and background photos a DatasetConfig uses (in its split), checked.

    Args:
        config: a DatasetConfig.
        check: decode every file once (before any frame is written); worker processes of a job
            that was checked already pass False.

    Raises:
        AssetError: a folder the config needs is missing or empty, or one of its images is
            empty or cannot be decoded.
    """
    split, fractions = config.split.use, config.split.fractions
    textures = backgrounds = ()
    floor_photos = config.background.floor and "image" in config.background.floor_textures
    if "image" in config.material.textures or floor_photos:
        textures = image_files(config.material.texture_folder, "texture image", split, fractions)
    if "image" in config.background.kind.args:
        backgrounds = image_files(config.background.image_folder, "background image", split, fractions)
    if check:
        for files, what in ((textures, "texture image"), (backgrounds, "background photo")):
            for path in files:
                check_image_file(path, what)
    return ImagePools(textures, backgrounds)
