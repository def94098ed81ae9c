"""Image files read and written through bytes, so that any path works.

cv2.imread and cv2.imwrite take the path as a C string: a path that is not valid UTF-8 (a folder
name holding byte 0xff, which Python carries as a surrogate escape) crashes the process with a
segmentation fault. Python reads and writes the bytes here; OpenCV only decodes and encodes them.
"""

from __future__ import annotations

import os

import cv2
import numpy as np


def read_image(path: str | os.PathLike, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray | None:
    """The decoded image, as cv2.imread gives it.

    Args:
        path: any path, valid UTF-8 or not.
        flags: cv2.IMREAD_* (default: unchanged, so uint16 PNGs stay uint16).

    Returns:
        The image array, or None where the file is missing, unreadable or not an image.
    """
    try:
        data = np.fromfile(path, np.uint8)
    except OSError:
        return None
    if data.size == 0:  # cv2.imdecode raises on an empty buffer instead of returning None
        return None
    return cv2.imdecode(data, flags)


def write_image(path: str | os.PathLike, image: np.ndarray) -> bool:
    """Encodes ``image`` by the path's suffix (.png, .jpg, ...) and writes it, like cv2.imwrite.

    Returns:
        False where OpenCV has no encoder for the suffix or the file cannot be written.
    """
    try:
        ok, buffer = cv2.imencode(os.path.splitext(os.fspath(path))[1] or ".", image)
    except cv2.error:
        return False
    if not ok:
        return False
    try:
        buffer.tofile(path)
    except OSError:
        return False
    return True
