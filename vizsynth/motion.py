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
from vizsynth.scene import CameraMotionSpec, ObjectMotionSpec, SceneSpec


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


def trajectory_pose(trajectory, time_frames: float, com_m=(0.0, 0.0, 0.0)) -> np.ndarray:
    """(4, 4) obj_to_world of a recorded per-frame trajectory at ``time_frames`` (frames; the nearest
    end's pose past either end).

    Between two frames (motion blur's sub-frame instants) the object moves uniformly from one pose to
    the next as the simulation moves a body: its centre of mass ``com_m`` ((3,) metres, object frame)
    linearly, its rotation about the one fixed axis (through the centre of mass) that turns the first
    into the second. An origin away from the centre of mass then moves on an arc, not the chord.
    """
    last = len(trajectory) - 1
    time_frames = min(max(time_frames, 0.0), float(last))
    before = int(np.floor(time_frames))
    fraction = time_frames - before
    pose = np.array(trajectory[before], dtype=np.float64)
    if fraction == 0.0:
        return pose
    after = np.array(trajectory[before + 1], dtype=np.float64)
    com = np.asarray(com_m, dtype=np.float64)
    com_before, com_after = pose[:3, :3] @ com + pose[:3, 3], after[:3, :3] @ com + after[:3, 3]
    turn = rotation_vector(after[:3, :3] @ pose[:3, :3].T)
    pose[:3, :3] = rotation_from_vector(turn * fraction) @ pose[:3, :3]
    pose[:3, 3] = com_before + fraction * (com_after - com_before) - pose[:3, :3] @ com
    return pose


# A frame's spec keeps its trajectories' poses at frames t - TRAJECTORY_WINDOW .. t + TRAJECTORY_WINDOW:
# flow needs t +- 1, motion blur instants within half a frame of t.
TRAJECTORY_WINDOW = 1


def _trajectory_reaches(motion: ObjectMotionSpec, frames: int, time_frames: float) -> bool:
    """Whether ``motion``'s trajectory window gives the exact pose at ``time_frames``: inside the
    window, or past a window end that is the sequence's end (where the end pose holds)."""
    start, end = motion.trajectory_start, motion.trajectory_start + len(motion.trajectory) - 1
    return (start <= time_frames or start == 0) and (time_frames <= end or end == frames - 1)


def trajectory_window(motion: ObjectMotionSpec, frames: int, t: int) -> ObjectMotionSpec:
    """``motion`` with its trajectory cut to the window frame t's spec keeps: frames
    t - TRAJECTORY_WINDOW .. t + TRAJECTORY_WINDOW of the sequence (t clipped to 0..frames-1), as far
    as ``motion`` holds them; ``motion`` itself when that is all it holds (or it has no trajectory)."""
    if not motion.trajectory:
        return motion
    centre = min(max(t, 0), frames - 1)
    start = motion.trajectory_start
    low = max(centre - TRAJECTORY_WINDOW, start)
    high = min(centre + TRAJECTORY_WINDOW, start + len(motion.trajectory) - 1)
    if low == start and high == start + len(motion.trajectory) - 1:
        return motion
    return replace(motion, trajectory=motion.trajectory[low - start:high - start + 1], trajectory_start=low)


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
    ``trajectory_pose``); the camera by its recorded motion; lights and the floor stay. The
    returned spec keeps only frame t's window of each trajectory (``trajectory_window``).
    ``scene_at(spec, spec.sequence.t)`` is ``spec`` itself when its trajectories are that window.

    Raises:
        ValueError: ``spec`` is a single frame (no sequence), or a trajectory's window in ``spec``
            does not reach frame t or the instant t + subframe (a frame record holds only frames
            t-1..t+1 of its sequence's trajectories; naming the window).
    """
    seq = spec.sequence
    if seq is None:
        raise ValueError("scene_at needs a frame of a sequence (spec.sequence is None)")
    for motion in seq.objects:
        for time_frames in {float(t), t + subframe}:
            if motion.trajectory and not _trajectory_reaches(motion, seq.frames, time_frames):
                end = motion.trajectory_start + len(motion.trajectory) - 1
                raise ValueError(
                    f"scene_at: frame {seq.t}'s spec holds object {motion.instance_id}'s trajectory at frames "
                    f"{motion.trajectory_start}..{end} of 0..{seq.frames - 1} only, not at {time_frames:g}; "
                    "move the sequence's first frame (which holds all of it) instead"
                )
    windows = tuple(trajectory_window(m, seq.frames, t) for m in seq.objects)
    if t == seq.t and subframe == 0.0:
        if all(w is m for w, m in zip(windows, seq.objects)):
            return spec
        return replace(spec, sequence=replace(seq, objects=windows))
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
            pose = trajectory_pose(motion.trajectory, (t - motion.trajectory_start) + subframe, motion.com_m)
            objects.append(replace(obj, obj_to_world=pose))
            continue
        pose = obj.obj_to_world.copy()
        pose[:3, :3] = rotation_from_vector(np.deg2rad(motion.angular_velocity_deg_per_s) * dt) @ pose[:3, :3]
        pose[:3, 3] += np.array(motion.velocity_m_per_s) * dt
        objects.append(replace(obj, obj_to_world=pose))
    return replace(spec, camera=replace(spec.camera, world_to_cam=rigid_inverse(cam_to_world)),
                   objects=tuple(objects), sequence=replace(seq, t=t, objects=windows))
