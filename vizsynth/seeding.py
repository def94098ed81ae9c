"""Per-frame random streams: frame ``index`` of ``seed`` depends on nothing else.

Each sampling stage gets its own child stream, so adding a draw to one stage (say lighting) never
shifts another (say the camera). Streams are keyed by stage name, not by order of use.
"""

from __future__ import annotations

import zlib

import numpy as np

STAGES = ("camera", "objects", "materials", "lights", "background", "effects", "distractors", "physics")


def frame_rngs(seed: int, index: int, attempt: int = 0) -> dict[str, np.random.Generator]:
    """The independent generators for frame ``index`` of dataset ``seed``.

    Args:
        seed: dataset seed, any non-negative integer (0 is a seed like any other).
        index: frame index, >= 0.
        attempt: 0, or the try number when frame constraints made earlier tries be resampled
            (each try has streams of its own; the first try's are those of attempt 0).

    Returns:
        {stage name: Generator}, one per name in STAGES.
    """
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    key = (index,) if attempt == 0 else (index, attempt)
    return {
        stage: np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(*key, zlib.crc32(stage.encode()))))
        )
        for stage in STAGES
    }


# Streams of a whole sequence (sequence s also uses frame_rngs(seed, s) for its scene): keyed by
# names no frame stage uses, so they never shift a frame's streams.
SEQUENCE_STAGES = ("camera_motion", "object_motion")


def sequence_rngs(seed: int, sequence: int) -> dict[str, np.random.Generator]:
    """The motion streams of sequence ``sequence`` of dataset ``seed``: {stage name: Generator},
    one per name in SEQUENCE_STAGES, each depending on (seed, sequence, name) only."""
    if seed < 0 or sequence < 0:
        raise ValueError(f"seed and sequence must be >= 0, got seed={seed}, sequence={sequence}")
    return {
        stage: np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            seed, spawn_key=(sequence, zlib.crc32(stage.encode())))))
        for stage in SEQUENCE_STAGES
    }
