"""Shelf packing of silhouette tiles into atlases (plain arrays: no GL here)."""

from __future__ import annotations

from collections.abc import Iterator


def pack_tiles(tiles: list, atlas_width: int, max_height: int) -> Iterator[tuple[list, list, int]]:
    """Shelf-packs tiles into as few atlases as fit, tallest first.

    Args:
        tiles: [(id, (x0, y0, w, h))]: each tile's id and its box in the image, pixels; every
            ``w`` <= ``atlas_width``.
        atlas_width: the atlas width, pixels.
        max_height: the largest atlas height (the GL driver's renderbuffer limit).

    Yields:
        (batch, placed, height): the tiles of one atlas, each tile's (ax, ay) corner in it, and
        the atlas height used. Tiles never overlap; an atlas is taller than ``max_height`` only
        when it holds a tile that is taller on its own.
    """
    order = sorted(tiles, key=lambda t: (-t[1][3], t[0]))
    batch, placed = [], []
    x = y = shelf = 0
    for tile in order:
        w, h = tile[1][2], tile[1][3]
        if x + w > atlas_width:
            x, y, shelf = 0, y + shelf, 0
        if y + h > max_height and batch:
            yield batch, placed, y + shelf if x else y
            batch, placed, x, y, shelf = [], [], 0, 0, 0
        batch.append(tile)
        placed.append((x, y))
        x, shelf = x + w, max(shelf, h)
    if batch:
        yield batch, placed, y + shelf
