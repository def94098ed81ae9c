"""Camera sampling: intrinsics and an orbit pose around a look-at target."""

from __future__ import annotations

import numpy as np

from vizsynth.config import CameraConfig, ImageConfig
from vizsynth.sampling.poses import look_at_cam_to_world, rigid_inverse, spherical_offset
from vizsynth.scene import CameraSpec


def intrinsics_from_yfov(yfov_deg: float, width: int, height: int) -> np.ndarray:
    """(3, 3) OpenCV K with square pixels and the principal point at the image centre.

    The centre is ((W - 1) / 2, (H - 1) / 2) because OpenCV puts pixel centres at integers.
    """
    fy = (height / 2.0) / np.tan(np.deg2rad(yfov_deg) / 2.0)
    return np.array([[fy, 0.0, (width - 1) / 2.0], [0.0, fy, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def sample_camera(config: CameraConfig, image: ImageConfig, *, rng: np.random.Generator) -> CameraSpec:
    """Draws a camera: intrinsics (explicit or from a vertical FOV) and an orbit pose.

    Draw order is fixed: yfov, distance, elevation, azimuth, roll, look-at (x, y, z), jitter (x, y, z),
    then the intrinsics jitter (fx, fy, cx, cy).
    """
    yfov = config.yfov_deg.sample(rng=rng)
    if config.intrinsics is not None:
        i = config.intrinsics
        K = np.array([[i.fx, 0.0, i.cx], [0.0, i.fy, i.cy], [0.0, 0.0, 1.0]])
    else:
        K = intrinsics_from_yfov(yfov, image.width, image.height)
    distance = config.distance_m.sample(rng=rng)
    elevation = config.elevation_deg.sample(rng=rng)
    azimuth = config.azimuth_deg.sample(rng=rng)
    roll = config.roll_deg.sample(rng=rng)
    target = np.array([p.sample(rng=rng) for p in config.look_at_m], dtype=np.float64)
    jitter = config.look_at_jitter_m.sample(rng=rng)
    target += rng.uniform(-jitter, jitter, size=3)
    eye = target + spherical_offset(distance, elevation, azimuth)
    cam_to_world = look_at_cam_to_world(eye, target, roll)
    K = K.copy()
    K[0, 0] *= 1.0 + config.focal_jitter.sample(rng=rng)
    K[1, 1] *= 1.0 + config.focal_jitter.sample(rng=rng)
    K[0, 2] += config.principal_point_jitter_px.sample(rng=rng)
    K[1, 2] += config.principal_point_jitter_px.sample(rng=rng)
    return CameraSpec(
        K=K, width=image.width, height=image.height, world_to_cam=rigid_inverse(cam_to_world),
        znear_m=config.znear_m, zfar_m=config.zfar_m,
    )
