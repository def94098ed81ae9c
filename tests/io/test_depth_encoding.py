"""encode_depth against an element-by-element oracle: the quotient rounded half to even, and 0
where there is no surface (depth <= 0) or the units do not fit 16 bits."""

import numpy as np
import pytest

from vizsynth.maps import DEPTH_MAX_UNITS, encode_depth

SCALE = 2.0 ** -10  # a power of two: depth / SCALE is exact, so the oracle's rounding is the only rounding


def _oracle(depth: np.ndarray) -> np.ndarray:
    out = []
    for value in depth.ravel().tolist():
        units = round(value / SCALE)  # Python rounds half to even, as np.rint does
        out.append(units if 0 <= units <= DEPTH_MAX_UNITS else 0)
    return np.array(out, dtype=np.uint16).reshape(depth.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("far", [False, True])
def test_encode_depth_rounds_half_to_even_and_zeroes_what_does_not_fit(dtype, far):
    rng = np.random.default_rng(3)
    units = rng.uniform(0, 60000, size=(48, 64))
    units[0, :8] = [0.5, 1.5, 2.5, 65534.5, 65535.0, 0.0, 1e-3, 3.5]  # halves go to the even neighbour
    units[1, :3] = [-0.5, -4.0, -0.25]  # nothing valid behind the camera
    if far:  # frames that need the slow path: units that do not fit in 16 bits
        units[2, :4] = [65535.5, 65536.0, 1e7, 70000.25]
    depth = (units * SCALE).astype(dtype)
    assert np.array_equal(encode_depth(depth, SCALE), _oracle(depth))
    assert encode_depth(depth, SCALE).dtype == np.uint16
    if far:
        assert not encode_depth(depth, SCALE)[2, :4].any()
