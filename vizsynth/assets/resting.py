"""Geometric properties of an asset that placement needs: bounding radius and resting poses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh


@dataclass(frozen=True)
class RestingPose:
    """A stable pose of a mesh on the plane z = 0 (mesh units, before scaling).

    Attributes:
        transform: (4, 4) rotation + translation putting the mesh at rest on z = 0.
        probability: how likely the pose is (trimesh's quasi-static estimate).
        footprint_radius: largest xy distance of a vertex from the pose's z axis.
    """

    transform: np.ndarray
    probability: float
    footprint_radius: float


def resting_poses(mesh: trimesh.Trimesh, max_poses: int = 8) -> tuple[RestingPose, ...]:
    """The most probable stable poses of a mesh (deterministic: no noise in the estimate)."""
    transforms, probabilities = mesh.compute_stable_poses(sigma=0.0, n_samples=1)
    order = np.argsort(-np.asarray(probabilities), kind="stable")[:max_poses]
    poses = []
    for i in order:
        vertices = trimesh.transform_points(mesh.vertices, transforms[i])
        poses.append(RestingPose(np.asarray(transforms[i]), float(probabilities[i]),
                                 float(np.linalg.norm(vertices[:, :2], axis=1).max())))
    return tuple(poses)


def bounding_radius(mesh: trimesh.Trimesh) -> float:
    """Radius of the sphere about the model origin holding every vertex (mesh units)."""
    return float(np.linalg.norm(mesh.vertices, axis=1).max())
