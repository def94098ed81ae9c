"""Projection of object-frame points: 3D box corners and keypoints, with in-image and occlusion flags."""

from __future__ import annotations

import numpy as np

from vizsynth.scene import CameraSpec


def box_corners(bounds: np.ndarray) -> np.ndarray:
    """(9, 3) the 8 corners of an axis-aligned box (x slowest, z fastest) and its centre.

    Args:
        bounds: (2, 3) [min corner, max corner].
    """
    corners = np.array([[x, y, z] for x in bounds[:, 0] for y in bounds[:, 1] for z in bounds[:, 2]])
    return np.vstack([corners, bounds.mean(axis=0)])


def project(points_obj: np.ndarray, obj_to_cam: np.ndarray, camera: CameraSpec) -> tuple[np.ndarray, np.ndarray]:
    """Projects (N, 3) object-frame points (metres) with K.

    Returns:
        uv: (N, 2) float64 OpenCV pixel coordinates (NaN for points at or behind the camera).
        z: (N,) float64 camera-frame depth in metres.
    """
    in_cam = points_obj @ obj_to_cam[:3, :3].T + obj_to_cam[:3, 3]
    z = in_cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        homogeneous = in_cam @ camera.K.T
        uv = homogeneous[:, :2] / homogeneous[:, 2:]
    uv[z <= 0] = np.nan
    return uv, z


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
