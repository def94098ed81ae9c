"""vizsynth's 16-bit PNG writer decodes to the same pixels in OpenCV and Pillow (GL-free)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from isal import isal_zlib
from PIL import Image

from vizsynth.io.png import encode_png16


def _images():
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (1, 7), (5, 1), (48, 64), (37, 53)]:
        yield rng.integers(0, 65536, shape, dtype=np.uint16)  # every byte value, both bytes
        yield np.zeros(shape, np.uint16)
        yield np.full(shape, 65535, np.uint16)
    ids = np.zeros((40, 60), np.uint16)  # an instance map: flat regions, ids over 255
    ids[5:20, 10:30], ids[15:35, 25:50] = 3, 258
    yield ids
    yield np.tile(np.arange(1000, 1060, dtype=np.uint16), (40, 1)) + np.arange(40, dtype=np.uint16)[:, None]


@pytest.mark.parametrize("row_filter", ["none", "up"])
def test_opencv_and_pillow_read_back_every_pixel(row_filter):
    for image in _images():
        data = encode_png16(image, row_filter)
        by_opencv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert by_opencv.dtype == np.uint16
        np.testing.assert_array_equal(by_opencv.reshape(image.shape), image)
        with Image.open(io.BytesIO(data)) as picture:
            assert picture.size == (image.shape[1], image.shape[0])
            np.testing.assert_array_equal(np.asarray(picture).astype(np.uint16).reshape(image.shape), image)


def test_the_file_is_a_16_bit_greyscale_png_ending_in_iend():
    data = encode_png16(np.arange(12, dtype=np.uint16).reshape(3, 4), "up")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20], "big") == 4 and int.from_bytes(data[20:24], "big") == 3
    assert data[24:26] == bytes([16, 0])  # bit depth 16, colour type 0 (greyscale)
    assert data.endswith(b"IEND\xaeB`\x82")  # what frame_complete looks for


@pytest.mark.parametrize("image, row_filter", [
    (np.zeros((4, 4), np.uint8), "none"), (np.zeros((4, 4, 3), np.uint16), "none"),
    (np.zeros((0, 4), np.uint16), "none"), (np.zeros((4, 4), np.uint16), "paeth"),
])
def test_other_arrays_and_filters_are_refused(image, row_filter):
    with pytest.raises(ValueError):
        encode_png16(image, row_filter)


def _depth_like(rng, shape=(480, 640)):
    """A depth map's look: a tilted floor, boxes nearer the camera, noise, and no-surface zeros."""
    v, u = np.mgrid[: shape[0], : shape[1]]
    depth = 900 + 2 * v + u // 3 + rng.integers(0, 3, shape)
    depth[100:220, 150:300] = 600 + u[100:220, 150:300] // 7
    depth[: shape[0] // 5] = 0
    return depth.astype(np.uint16)


def test_the_bytes_are_a_function_of_the_pixels_alone():
    """A job split differently encodes each map after different work: the bytes must not change.

    Each map is encoded first in a fresh state and again after other maps, random data and other
    deflate levels have run through ISA-L (its buffers and the C stack then hold other data).
    ISA-L's level 1 gave other bytes on an AVX-512 machine; this machine may not show that, but
    any dependence on earlier work that it does show fails here.
    """
    rng = np.random.default_rng(1)
    maps = [(_depth_like(rng), "up"), (_depth_like(rng, (1080, 1920)), "up")]
    ids = np.zeros((480, 640), np.uint16)
    ids[50:300, 60:400], ids[200:450, 300:620] = 7, 300
    maps.append((ids, "none"))
    first = [encode_png16(image, row_filter) for image, row_filter in maps]
    for round_ in range(6):
        for level in range(4):  # other data through every level leaves other state behind
            isal_zlib.compress(rng.integers(0, 256, int(rng.integers(1_000, 3_000_000)), dtype=np.uint8), level)
        for n in rng.permutation(len(maps)):
            image, row_filter = maps[n]
            assert encode_png16(image, row_filter) == first[n], f"map {n} encoded to other bytes in round {round_}"
