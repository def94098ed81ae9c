"""Object placement without interpenetration: "flying" in the camera frustum, or "tabletop" at
rest on the plane z = 0.

Objects never interpenetrate because their bounding spheres (flying) or their footprint circles
on the plane (tabletop) never overlap: a conservative test, exact enough for clutter and cheap.
Every placement has a bounded number of tries and then fails with a PlacementError naming the
frame, the object and the constraint.
"""

from __future__ import annotations

import numpy as np

from vizsynth.assets.resting import RestingPose
from vizsynth.config import ObjectsConfig
from vizsynth.errors import PlacementError
from vizsynth.scene import CameraSpec


def _yaw(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    pose = np.eye(4)
    pose[:2, :2] = [[c, -s], [s, c]]
    return pose


def place_tabletop(
    poses: list[tuple[RestingPose, ...]], scales: list[float], config: ObjectsConfig, *,
    rng: np.random.Generator, index: int, placed: list,
) -> list[np.ndarray]:
    """obj_to_world of each object at rest on z = 0 inside ``config.tabletop_extent_m``.

    Args:
        poses: each object's resting poses; scales: each object's mesh_scale.
        placed: (xy centre, footprint radius) of what is already on the table; extended here.
    """
    out = []
    half = np.asarray(config.tabletop_extent_m, dtype=np.float64)
    for k, (options, scale) in enumerate(zip(poses, scales)):
        probabilities = np.array([p.probability for p in options])
        rest = options[int(rng.choice(len(options), p=probabilities / probabilities.sum()))]
        radius = rest.footprint_radius * scale
        for _ in range(config.max_placement_tries):
            xy = rng.uniform(-half, half)
            if all(np.linalg.norm(xy - c) >= radius + r for c, r in placed):
                break
        else:
            raise PlacementError(
                f"frame {index}: object {k + 1} (footprint radius {radius:.3f} m) found no free spot on the "
                f"{2 * half[0]:.2f} x {2 * half[1]:.2f} m table in {config.max_placement_tries} tries; "
                "use fewer or smaller objects or a larger objects.tabletop_extent_m"
            )
        placed.append((xy, radius))
        pose = _yaw(rng.uniform(0, 2 * np.pi))
        pose[:2, 3] = xy
        scaled_rest = rest.transform.copy()
        scaled_rest[:3, 3] *= scale  # the rest pose was found for the unscaled mesh
        out.append(pose @ scaled_rest)
    return out


def place_flying(
    radii: list[float], rotations: list[np.ndarray], camera: CameraSpec, config: ObjectsConfig, *,
    rng: np.random.Generator, index: int, placed: list,
) -> list[np.ndarray]:
    """obj_to_world of each object at a random pixel and depth inside the camera's view.

    Args:
        radii: each object's bounding-sphere radius in metres (about its origin).
        rotations: each object's (3, 3) rotation.
        placed: (centre, radius) of what is already in the scene; extended here.
    """
    cam_to_world = np.linalg.inv(camera.world_to_cam)
    k_inv = np.linalg.inv(camera.K)
    out = []
    for k, (radius, rotation) in enumerate(zip(radii, rotations)):
        for _ in range(config.max_placement_tries):
            depth = config.flying_depth_m.sample(rng=rng)
            pixel = [rng.uniform(0, camera.width - 1), rng.uniform(0, camera.height - 1), 1.0]
            centre = (cam_to_world @ np.append(depth * (k_inv @ pixel), 1.0))[:3]
            if depth - radius > camera.znear_m and all(np.linalg.norm(centre - c) >= radius + r for c, r in placed):
                break
        else:
            raise PlacementError(
                f"frame {index}: object {k + 1} (bounding radius {radius:.3f} m) found no free spot in the "
                f"camera's view in {config.max_placement_tries} tries; use fewer or smaller objects or a "
                "larger objects.flying_depth_m range"
            )
        placed.append((centre, radius))
        pose = np.eye(4)
        pose[:3, :3] = rotation
        pose[:3, 3] = centre
        out.append(pose)
    return out
