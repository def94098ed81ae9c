"""Per-pixel maps derived from one render: semantic classes and ray distance."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vizsynth.scene import CameraSpec, SceneSpec


def semantic_map(instance_ids: np.ndarray, spec: SceneSpec, category_ids: Mapping[str, int]) -> np.ndarray:
    """(H, W) uint16 category id of the object seen at each pixel, 0 = background or distractor."""
    lookup = np.zeros(max([o.instance_id for o in spec.objects], default=0) + 1, dtype=np.uint16)
    for obj in spec.objects:
        if not obj.distractor:
            lookup[obj.instance_id] = category_ids[obj.category]
    return lookup[instance_ids]


def ray_distance(depth_m: np.ndarray, camera: CameraSpec) -> np.ndarray:
    """(H, W) float32 distance from the camera centre to the surface, metres (0 = no surface).

    A pixel (u, v) at z-depth z lies at z * K^-1 [u, v, 1], so its distance is
    z * |K^-1 [u, v, 1]|.
    """
    height, width = depth_m.shape
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(camera.K).T
    return (depth_m * np.linalg.norm(rays, axis=-1)).astype(np.float32)
