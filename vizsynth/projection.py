"""Pinhole projection of object-frame points with OpenCV K: plain numpy, shared by the renderer
(sizing silhouette tiles) and the annotator (3D boxes, keypoints)."""

from __future__ import annotations

import numpy as np

from vizsynth.scene import CameraSpec

# Which of [min, max] each coordinate of the 8 corners takes: x slowest, z fastest.
CORNER_ROWS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)])


def box_corners(bounds: np.ndarray) -> np.ndarray:
    """(9, 3) the 8 corners of an axis-aligned box (x slowest, z fastest) and its centre.

    Args:
        bounds: (2, 3) [min corner, max corner].
    """
    points = np.empty((9, 3))
    points[:8] = bounds[CORNER_ROWS, [0, 1, 2]]
    points[8] = (bounds[0] + bounds[1]) / 2  # the same float operations as bounds.mean(axis=0)
    return points


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
