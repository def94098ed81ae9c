"""The small pose helpers against NumPy's own functions."""

import numpy as np

from vizsynth.sampling.poses import cross3


def test_cross3_gives_numpys_cross_bit_for_bit():
    # The renderer's light poses and the camera's look-at use cross3 in place of np.cross: the
    # floats must be the very same, or frames would change from one version to the next.
    rng = np.random.default_rng(7)
    scales = 10.0 ** rng.uniform(-8, 8, size=(2000, 1))
    a, b = rng.normal(size=(2000, 3)) * scales, rng.normal(size=(2000, 3))
    got = np.array([cross3(x, y) for x, y in zip(a, b)])
    assert got.dtype == np.float64
    assert got.tobytes() == np.cross(a, b).tobytes()
    assert cross3([1.0, 0.0, 0.0], (0.0, 1.0, 0.0)).tolist() == [0.0, 0.0, 1.0]
