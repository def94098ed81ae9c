"""scene_at: a frame of a sequence moved to another time, by the motion its SceneSpec records.

Plain numpy, no randomness: sampling decides the motion (``vizsynth.sampling.motion_sampler``), this
module applies it. A frame's spec holds the poses at its own time t; ``scene_at(spec, t2)`` gives
the poses at t2, so a frame's neighbours (for optical flow) follow from the frame's record alone.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from vizsynth.sampling.poses import rigid_inverse
from vizsynth.scene import CameraMotionSpec, SceneSpec


def rotation_from_vector(rotvec: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of an axis-angle vector (radians), Rodrigues' formula; identity for 0."""
    angle = float(np.linalg.norm(rotvec))
    if angle == 0.0:
        return np.eye(3)
    k = np.asarray(rotvec, dtype=np.float64) / angle
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * (cross @ cross)


def rotation_vector(rotation: np.ndarray) -> np.ndarray:
    """The axis-angle vector (radians) of a (3, 3) rotation: the inverse of rotation_from_vector."""
    vector, _ = cv2.Rodrigues(np.asarray(rotation, dtype=np.float64))
    return vector.ravel()


def trajectory_pose(trajectory, time_frames: float) -> np.ndarray:
    """(4, 4) pose of a recorded per-frame trajectory at ``time_frames`` (frames; the nearest end's
    pose past either end).

    Between two frames (motion blur's sub-frame instants) the pose moves uniformly from one to the
    next: position linearly, rotation about the one fixed axis that turns the first into the second.
    """
    last = len(trajectory) - 1
    time_frames = min(max(time_frames, 0.0), float(last))
    before = int(np.floor(time_frames))
    fraction = time_frames - before
    pose = np.array(trajectory[before], dtype=np.float64)
    if fraction == 0.0:
        return pose
    after = np.array(trajectory[before + 1], dtype=np.float64)
    turn = rotation_vector(after[:3, :3] @ pose[:3, :3].T)
    pose[:3, :3] = rotation_from_vector(turn * fraction) @ pose[:3, :3]
    pose[:3, 3] += fraction * (after[:3, 3] - pose[:3, 3])
    return pose


def wobble_offset(camera: CameraMotionSpec, time_s: float) -> np.ndarray:
    """(4, 4) camera-frame offset of the random-walk/shake sines at ``time_s`` (identity at 0).

    Translation sums the sines of axes 0-2 (metres); rotation is the axis-angle vector of the
    sines of axes 3-5 (degrees).
    """
    values = np.zeros(6)
    for axis, amplitude, frequency_hz, phase in camera.wobble:
        values[axis] += amplitude * (np.sin(2.0 * np.pi * frequency_hz * time_s + phase) - np.sin(phase))
    offset = np.eye(4)
    offset[:3, :3] = rotation_from_vector(np.deg2rad(values[3:]))
    offset[:3, 3] = values[:3]
    return offset


def camera_to_world_at(camera: CameraMotionSpec, cam_to_world: np.ndarray, time_s: float,
                       new_time_s: float) -> np.ndarray:
    """(4, 4) camera-to-world pose at ``new_time_s`` of a camera at ``cam_to_world`` at ``time_s``."""
    dt = new_time_s - time_s
    if camera.kind == "orbit":
        turn = np.eye(4)
        turn[:3, :3] = rotation_from_vector(np.array([0.0, 0.0, np.deg2rad(camera.orbit_deg_per_s) * dt]))
        pivot = np.array(camera.pivot_m, dtype=np.float64)
        turn[:3, 3] = pivot - turn[:3, :3] @ pivot
        return turn @ cam_to_world
    if camera.kind == "linear":
        out = cam_to_world.copy()
        out[:3, 3] += np.array(camera.velocity_m_per_s) * dt
        return out
    if camera.kind in ("random_walk", "shake"):
        start = cam_to_world @ rigid_inverse(wobble_offset(camera, time_s))
        return start @ wobble_offset(camera, new_time_s)
    return cam_to_world


def scene_at(spec: SceneSpec, t: int, subframe: float = 0.0) -> SceneSpec:
    """The scene of ``spec``'s sequence at frame ``t`` (any integer: neighbours past either end too).

    ``subframe``: poses at the instant t + subframe (frames) instead, for motion blur; the returned
    spec still names frame t.

    Objects move by their recorded constant velocities (their origin) and angular velocities
    (about their origin, world frame), or take their recorded trajectory's pose at ``t`` (see
    ``trajectory_pose``); the camera by its recorded motion; lights and the floor
    stay. ``scene_at(spec, spec.sequence.t)`` is ``spec`` itself.

    Raises:
        ValueError: ``spec`` is a single frame (no sequence).
    """
    seq = spec.sequence
    if seq is None:
        raise ValueError("scene_at needs a frame of a sequence (spec.sequence is None)")
    if t == seq.t and subframe == 0.0:
        return spec
    time_s, new_time_s = seq.t / seq.fps, (t + subframe) / seq.fps
    dt = new_time_s - time_s
    cam_to_world = camera_to_world_at(seq.camera, rigid_inverse(spec.camera.world_to_cam), time_s, new_time_s)
    motions = {m.instance_id: m for m in seq.objects}
    objects = []
    for obj in spec.objects:
        motion = motions.get(obj.instance_id)
        if motion is None:
            objects.append(obj)
            continue
        if motion.trajectory:
            objects.append(replace(obj, obj_to_world=trajectory_pose(motion.trajectory, t + subframe)))
            continue
        pose = obj.obj_to_world.copy()
        pose[:3, :3] = rotation_from_vector(np.deg2rad(motion.angular_velocity_deg_per_s) * dt) @ pose[:3, :3]
        pose[:3, 3] += np.array(motion.velocity_m_per_s) * dt
        objects.append(replace(obj, obj_to_world=pose))
    return replace(spec, camera=replace(spec.camera, world_to_cam=rigid_inverse(cam_to_world)),
                   objects=tuple(objects), sequence=replace(seq, t=t))
