"""In-image and occlusion flags of projected points (projection itself: vizsynth.projection)."""

from __future__ import annotations

import numpy as np

from vizsynth.scene import CameraSpec


def in_image(uv: np.ndarray, camera: CameraSpec) -> np.ndarray:
    """(N,) bool: the point falls on a pixel of the image (pixel centres at integers)."""
    with np.errstate(invalid="ignore"):
        return (
            (uv[:, 0] >= -0.5) & (uv[:, 0] < camera.width - 0.5)
            & (uv[:, 1] >= -0.5) & (uv[:, 1] < camera.height - 0.5)
        )


def keypoint_visibility(uv: np.ndarray, z: np.ndarray, depth_m: np.ndarray, camera: CameraSpec,
                        tolerance_m: float) -> np.ndarray:
    """(N,) COCO flags: 2 visible, 1 in the image but hidden, 0 outside the image.

    A keypoint is hidden when the rendered surface at its pixel is more than ``tolerance_m``
    nearer to the camera than the keypoint (another object, or the object's own far side).
    """
    flags = np.zeros(len(uv), dtype=np.int64)
    inside = in_image(uv, camera)
    cols = np.rint(uv[inside, 0]).astype(int)
    rows = np.rint(uv[inside, 1]).astype(int)
    surface = depth_m[rows, cols]
    hidden = (surface > 0) & (surface < z[inside] - tolerance_m)
    flags[inside] = np.where(hidden, 1, 2)
    return flags
