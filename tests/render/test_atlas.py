"""Shelf packing of silhouette tiles: every tile placed once, inside its atlas, never overlapping."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vizsynth.render.atlas import pack_tiles

ATLAS_WIDTH = 96

tile_sizes = st.lists(st.tuples(st.integers(1, ATLAS_WIDTH), st.integers(1, 80)), min_size=0, max_size=40)


@settings(max_examples=200, deadline=None)
@given(sizes=tile_sizes, max_height=st.integers(8, 200))
def test_tiles_are_placed_once_inside_their_atlas_without_overlap(sizes, max_height):
    tiles = [(i + 1, (0, 0, w, h)) for i, (w, h) in enumerate(sizes)]
    seen = []
    for batch, placed, height in pack_tiles(tiles, ATLAS_WIDTH, max_height):
        assert len(batch) == len(placed) >= 1
        canvas = np.zeros((max(height, 1), ATLAS_WIDTH), np.int32)
        for (tile_id, (_, _, w, h)), (ax, ay) in zip(batch, placed):
            assert 0 <= ax and ax + w <= ATLAS_WIDTH and 0 <= ay and ay + h <= height
            canvas[ay:ay + h, ax:ax + w] += 1
            seen.append(tile_id)
        assert canvas.max() <= 1, "tiles overlap"
        # An atlas exceeds max_height only when it holds a tile that is taller on its own.
        assert height <= max_height or max(t[1][3] for t in batch) > max_height
    assert sorted(seen) == [t[0] for t in tiles]


def test_one_atlas_when_everything_fits():
    tiles = [(1, (5, 5, 40, 30)), (2, (0, 0, 40, 20)), (3, (9, 9, 20, 10))]  # 40 + 40 + 20 > 96: a new shelf
    (batch, placed, height), = pack_tiles(tiles, ATLAS_WIDTH, 100)
    assert [t[0] for t in batch] == [1, 2, 3] and placed == [(0, 0), (40, 0), (0, 30)] and height == 40
