"""Per-stage random streams: keyed by (seed, index, attempt, stage name), independent of each other."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from vizsynth.seeding import STAGES, frame_rngs


def _first_draws(rngs: dict) -> dict:
    return {stage: rng.integers(0, 2**62, size=4).tolist() for stage, rng in rngs.items()}


def test_same_key_same_streams_and_every_stage_distinct():
    a, b = _first_draws(frame_rngs(7, 3)), _first_draws(frame_rngs(7, 3))
    assert a == b and set(a) == set(STAGES)
    assert len({tuple(v) for v in a.values()}) == len(STAGES)


@pytest.mark.parametrize("other", [(8, 3, 0), (7, 4, 0), (7, 3, 1)])
def test_seed_index_and_attempt_each_change_every_stream(other):
    base = _first_draws(frame_rngs(7, 3))
    changed = _first_draws(frame_rngs(*other))
    assert all(base[stage] != changed[stage] for stage in STAGES)


def test_drawing_more_in_one_stage_leaves_the_others_unchanged():
    rngs = frame_rngs(0, 0)
    rngs["lights"].random(1000)  # e.g. a new draw added to lighting
    untouched = _first_draws(frame_rngs(0, 0))
    assert {s: v for s, v in _first_draws(rngs).items() if s != "lights"} == \
        {s: v for s, v in untouched.items() if s != "lights"}


def test_streams_are_pinned():
    """The exact streams are part of every dataset's bytes: changing them must be deliberate."""
    assert frame_rngs(0, 0)["camera"].integers(0, 1000, size=3).tolist() == \
        np.random.Generator(np.random.PCG64(np.random.SeedSequence(0, spawn_key=(0, zlib.crc32(b"camera"))))).integers(
            0, 1000, size=3).tolist()


def test_negative_seed_or_index_is_refused():
    with pytest.raises(ValueError, match="must be >= 0"):
        frame_rngs(-1, 0)
