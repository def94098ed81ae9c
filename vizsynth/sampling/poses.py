"""Small pose helpers shared by the samplers and the renderer (plain numpy, no randomness)."""

from __future__ import annotations

import numpy as np


def spherical_offset(distance_m: float, elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """(3,) float64 offset at ``distance_m`` from the origin; z up, azimuth from +x towards +y."""
    el, az = np.deg2rad(elevation_deg), np.deg2rad(azimuth_deg)
    return distance_m * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def cross3(a, b) -> np.ndarray:
    """(3,) float64 cross product of two 3-vectors: the same floats as ``np.cross(a, b)`` (the same
    products and differences, in the same order), at a tenth of its cost for a single pair."""
    a0, a1, a2 = (float(v) for v in a)
    b0, b1, b2 = (float(v) for v in b)
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def look_at_cam_to_world(eye: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """(4, 4) float64 camera-to-world pose of an OpenCV camera at ``eye`` looking at ``target``.

    World z is up; the image's "up" is world up (then rotated by ``roll_deg`` about the view axis).
    Looking straight up or down, world +y serves as up instead.
    """
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = cross3(forward, (0.0, 0.0, 1.0))
    if np.linalg.norm(right) < 1e-6:
        right = cross3(forward, (0.0, 1.0, 0.0))
    right /= np.linalg.norm(right)
    down = cross3(forward, right)
    roll = np.deg2rad(roll_deg)
    c, s = np.cos(roll), np.sin(roll)
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([right, down, forward]) @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    pose[:3, 3] = eye
    return pose


def rigid_inverse(pose: np.ndarray) -> np.ndarray:
    """Inverse of a (4, 4) rigid transform, exact up to rounding (no general matrix inverse)."""
    out = np.eye(4)
    out[:3, :3] = pose[:3, :3].T
    out[:3, 3] = -pose[:3, :3].T @ pose[:3, 3]
    return out


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of a unit quaternion (w, x, y, z)."""
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
