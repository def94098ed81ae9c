"""Optical flow from the flow pass: pixels, validity and occlusion of one direction (t -> t +/- 1).

The flow pass gives, at each pixel centre p of frame t, the position X' of the surface point seen
there in the other frame's OpenCV camera frame (object and camera poses of both frames applied
on the GPU). Here X' is projected with the other frame's K: flow(p) = proj(X') - p, in pixels
(x right, y down, OpenCV pixel centres). It is the motion field of surfaces: shadows, highlights
and lighting changes that move carry no flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vizsynth.scene import CameraSpec


@dataclass(frozen=True)
class FlowMaps:
    """One direction's flow of one frame.

    Attributes:
        flow_px: (H, W, 2) float32 (u, v) displacement in pixels, 0 where not valid.
        valid: (H, W) bool: a surface is seen at the pixel, the other frame exists, and the point
            lies in front of the other camera and projects inside its image.
        occluded: (H, W) bool, only where valid: the point is hidden at the other frame (see
            ``occlusion``).
        scene_flow_m: (H, W, 3) float32 X' - X (the point in the other frame's camera frame minus
            the point in this frame's camera frame, metres), 0 where not valid; None unless asked.
    """

    flow_px: np.ndarray
    valid: np.ndarray
    occluded: np.ndarray
    scene_flow_m: np.ndarray | None = None


def no_flow(height: int, width: int, scene_flow: bool) -> FlowMaps:
    """The flow towards a frame that does not exist (before the first or after the last): all invalid."""
    return FlowMaps(np.zeros((height, width, 2), np.float32), np.zeros((height, width), bool),
                    np.zeros((height, width), bool), np.zeros((height, width, 3), np.float32) if scene_flow else None)


def unproject(depth_m: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(H, W, 3) float64 camera-frame points of each pixel centre at its z-depth (OpenCV K)."""
    height, width = depth_m.shape
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    z = depth_m.astype(np.float64)
    return np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], axis=-1)


def occlusion(uv: np.ndarray, z_m: np.ndarray, other_depth_m: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Whether points projected to ``uv`` at depth ``z_m`` are hidden in a frame whose depth map is
    ``other_depth_m``: each of the four pixel centres around the point (clamped to the image)
    shows a surface nearer than ``z_m - tolerance_m``.

    All four must hide it because the depth between pixel centres is unknown: at the point's own
    surface one of them is at least as far as the point (1/z of a plane is linear in the image),
    so a slanted surface never hides itself; an edge is not called an occlusion half a pixel early.

    Args:
        uv: (..., 2) float pixel positions (OpenCV); z_m: (...) depths; other_depth_m: (H, W), 0 = none.

    Returns:
        (...) bool.
    """
    height, width = other_depth_m.shape
    depth = np.where(other_depth_m > 0, other_depth_m, np.inf).ravel()
    x0 = np.floor(uv[..., 0]).astype(np.int64)
    y0 = np.floor(uv[..., 1]).astype(np.int64)
    # Flat indices and one threshold: a 2-D fancy index per neighbour cost most of the flow's CPU time.
    columns = [np.clip(x0 + dx, 0, width - 1) for dx in (0, 1)]
    rows = [np.clip(y0 + dy, 0, height - 1) * width for dy in (0, 1)]
    limit = z_m - tolerance_m
    hidden = np.ones(z_m.shape, bool)
    for row in rows:
        for column in columns:
            hidden &= depth.take(row + column) < limit
    return hidden


def measure_flow(camera: CameraSpec, depth_m: np.ndarray, instance_ids: np.ndarray, flow_pass: np.ndarray,
                 other_camera: CameraSpec, other_depth_m: np.ndarray, tolerance_m: float,
                 scene_flow: bool = False) -> FlowMaps:
    """One direction's flow of a frame.

    Args:
        camera: this frame's camera.
        depth_m, instance_ids: this frame's label pass, (H, W).
        flow_pass: (H, W, 4) float32 from ``Renderer.flow``: the other frame's camera-frame point
            and the instance id drawn.
        other_camera: the other frame's camera.
        other_depth_m: the other frame's label-pass depth, (H', W').
        tolerance_m: see ``occlusion``.
        scene_flow: also return the scene flow.

    Returns:
        FlowMaps; a pixel the flow pass drew with another id than the label pass (cannot happen
        with the same rasterisation; guarded anyway) is not valid.
    """
    height, width = depth_m.shape
    points = flow_pass[..., :3].astype(np.float64)
    z = points[..., 2]
    surface = (instance_ids > 0) & (flow_pass[..., 3] == instance_ids) & (depth_m > 0)
    ahead = surface & (z > other_camera.znear_m)
    K = other_camera.K
    safe_z = np.where(ahead, z, 1.0)
    u = K[0, 0] * points[..., 0] / safe_z + K[0, 2]
    v = K[1, 1] * points[..., 1] / safe_z + K[1, 2]
    inside = (u >= -0.5) & (u < other_camera.width - 0.5) & (v >= -0.5) & (v < other_camera.height - 0.5)
    valid = ahead & inside
    grid_v, grid_u = np.mgrid[0:height, 0:width]
    flow = np.stack([u - grid_u, v - grid_v], axis=-1)
    flow[~valid] = 0.0
    occluded = np.zeros_like(valid)
    occluded[valid] = occlusion(np.stack([u[valid], v[valid]], axis=-1), z[valid], other_depth_m, tolerance_m)
    moved = None
    if scene_flow:
        moved = points - unproject(depth_m, camera.K)
        moved[~valid] = 0.0
        moved = moved.astype(np.float32)
    return FlowMaps(flow.astype(np.float32), valid, occluded, moved)
