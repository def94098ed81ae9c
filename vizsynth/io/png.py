"""16-bit greyscale PNG files (depth and instance maps), compressed with ISA-L's deflate.

OpenCV's PNG encoder (libpng with zlib at level 1) spent ~3 ms on a 640x480 depth map and ~12 ms
on a 1920x1080 one, nearly all of it in zlib; ISA-L's level-0 deflate takes ~0.2 ms and ~1 ms. The
files are plain PNGs (signature, IHDR, one IDAT, IEND) that every reader decodes to the same pixels.

The bytes must be a function of the pixels alone (the same frame gives the same files however a
job is split). ISA-L picks its functions by CPU: at level 1 its Huffman encoder has an AVX-512
variant, and on an AVX-512 machine (the Xeon of an H100 box) level 1 gave 2 of 15,000 depth maps
other bytes, with the same pixels, in a second run of the same job (never seen on AVX2 machines).
Level 0 (precomputed Huffman tables) runs only functions that have no AVX-512 variant, so an AVX-512
machine runs the same code as an AVX2 one, where it is tested (tests/io/test_png.py). Its files are
larger than level 1's (depth ~24 KB instead of ~19 KB at 640x480, instance maps ~8 KB instead of
~3 KB) and about as fast to write. The bytes still depend on ISA-L's version and, on machines
without AVX2, on the CPU; the golden test pins PNGs by their decoded pixels.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from isal import isal_zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTERS = {"none": 0, "up": 2}  # PNG row filter types
# ISA-L level 0: the level whose functions have no AVX-512 variant (see the module docstring)
_LEVEL = 0


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def encode_png16(image: np.ndarray, row_filter: str) -> bytes:
    """The PNG file of a (H, W) uint16 image: 16-bit greyscale, no interlace.

    Args:
        image: (H, W) uint16, H and W >= 1, in either byte order (a big-endian one, dtype
            ``>u2``, is PNG's own and is not swapped).
        row_filter: "none" (flat regions: instance maps) or "up" (each byte minus the one above:
            smooth regions, depth), applied to every row.

    Raises:
        ValueError: not a non-empty 2D uint16 array, or an unknown ``row_filter``.
    """
    if image.ndim != 2 or image.dtype not in (np.dtype("<u2"), np.dtype(">u2")) or image.size == 0:
        raise ValueError(f"encode_png16 takes a non-empty (H, W) uint16 array, got {image.dtype} {image.shape}")
    if row_filter not in _FILTERS:
        raise ValueError(f"row_filter must be one of {sorted(_FILTERS)}, got {row_filter!r}")
    height, width = image.shape
    # Each row: its filter type byte, then the samples big-endian (PNG's byte order).
    rows = np.empty((height, 1 + 2 * width), np.uint8)
    rows[:, 0] = _FILTERS[row_filter]
    samples = rows[:, 1:]
    # Swapped to big-endian contiguously first (one SIMD pass), then copied row by row: assigning
    # through a big-endian view of the rows (each one byte off alignment) took NumPy's slow path.
    big = image.astype(">u2", copy=False).view(np.uint8)
    if row_filter == "none":
        samples[...] = big
    else:
        samples[0] = big[0]
        np.subtract(big[1:], big[:-1], out=samples[1:])  # modulo 256, as PNG defines it
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)  # 16-bit, greyscale, deflate, no interlace
    return b"".join((_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", isal_zlib.compress(rows, _LEVEL)),
                     _chunk(b"IEND", b"")))
