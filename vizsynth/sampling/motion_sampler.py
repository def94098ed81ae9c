"""Motion sampling: the camera's and the objects' motion over one sequence.

Drawn once per sequence from its own streams (``seeding.sequence_rngs``); ``vizsynth.motion``
applies it. Draw orders are fixed and documented per function.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vizsynth.assets.primitives import is_bin
from vizsynth.config import PhysicsConfig, SequenceConfig
from vizsynth.sampling.poses import rigid_inverse
from vizsynth.scene import (
    CameraMotionSpec,
    CameraSpec,
    MotionBlurSpec,
    ObjectMotionSpec,
    ObjectSpec,
    SceneSpec,
    SequenceSpec,
)
from vizsynth.seeding import sequence_rngs

# Sines per axis of a random walk or shake: a few incommensurate ones make a smooth, non-repeating path.
WOBBLE_SINES = 3


def orbit_pivot(camera: CameraSpec) -> np.ndarray:
    """(3,) the point of the camera's optical axis nearest to the world z axis (where a look-at
    camera's target is); the point 1 m ahead when the axis is (nearly) vertical or turned away."""
    cam_to_world = rigid_inverse(camera.world_to_cam)
    centre, forward = cam_to_world[:3, 3], cam_to_world[:3, 2]
    flat = float(forward[:2] @ forward[:2])
    s = -float(centre[:2] @ forward[:2]) / flat if flat > 1e-9 else 1.0
    return centre + forward * (s if s > 0 else 1.0)


def sample_camera_motion(config: SequenceConfig, camera: CameraSpec, *, rng: np.random.Generator) -> CameraMotionSpec:
    """Draws the camera's motion. Draw order: orbit rate; velocity (x, y, z); then per wobble axis
    0..5 and sine, amplitude factor, frequency, phase (only the chosen kind's draws are made)."""
    kind = config.camera_motion
    if kind == "orbit":
        return CameraMotionSpec(kind, pivot_m=tuple(float(v) for v in orbit_pivot(camera)),
                                orbit_deg_per_s=float(config.orbit_deg_per_s.sample(rng=rng)))
    if kind == "linear":
        velocity_cam = np.array([float(p.sample(rng=rng)) for p in config.camera_velocity_m_per_s])
        velocity = rigid_inverse(camera.world_to_cam)[:3, :3] @ velocity_cam
        return CameraMotionSpec(kind, velocity_m_per_s=tuple(float(v) for v in velocity))
    if kind in ("random_walk", "shake"):
        walk = kind == "random_walk"
        metres = config.walk_amplitude_m if walk else config.shake_amplitude_m
        degrees = config.walk_amplitude_deg if walk else config.shake_amplitude_deg
        frequency = config.walk_frequency_hz if walk else config.shake_frequency_hz
        rows = []
        for axis in range(6):
            amplitude = (metres if axis < 3 else degrees).sample(rng=rng)
            for _ in range(WOBBLE_SINES):
                # The sines' amplitudes share the axis amplitude at random: their sum stays within it.
                share = float(rng.uniform(0.0, 1.0)) / WOBBLE_SINES
                rows.append((axis, float(amplitude) * share, float(frequency.sample(rng=rng)),
                             float(rng.uniform(0.0, 2.0 * np.pi))))
        return CameraMotionSpec(kind, wobble=tuple(rows))
    return CameraMotionSpec("static")


def sample_object_motion(config: SequenceConfig, objects: tuple[ObjectSpec, ...], *,
                         rng: np.random.Generator) -> tuple[ObjectMotionSpec, ...]:
    """Draws each moving object's constant motion, in object order: velocity (x, y, z), angular
    speed, axis (3 normals). The floor never moves, nor (``object_motion: physics``) a bin; with
    ``object_motion: static`` nothing does."""
    if config.object_motion == "static":
        return ()
    out = []
    for obj in objects:
        if obj.primitive == "floor" or (config.object_motion == "physics" and is_bin(obj.primitive)):
            continue
        velocity = tuple(float(p.sample(rng=rng)) for p in config.object_velocity_m_per_s)
        speed = float(config.object_angular_speed_deg_per_s.sample(rng=rng))
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        out.append(ObjectMotionSpec(obj.instance_id, velocity, tuple(float(v) for v in axis * speed)))
    return tuple(out)


def start_sequence(config: SequenceConfig, scene: SceneSpec, *, seed: int, sequence: int,
                   physics: PhysicsConfig | None = None, catalogs: tuple = ()) -> SceneSpec:
    """Frame 0 of sequence ``sequence``: its sampled ``scene`` with the sampled motion recorded.

    Args:
        scene: the sequence's scene (``sample_scene`` with ``index=sequence``).
        physics, catalogs: object_motion physics: the simulation settings (``objects.physics``) and
            the catalogs the objects were drawn from, with hulls; the whole sequence is simulated
            here (a pure function of the sequence's streams) and each object's trajectory recorded.
    """
    rngs = sequence_rngs(seed, sequence)
    camera = sample_camera_motion(config, scene.camera, rng=rngs["camera_motion"])
    objects = sample_object_motion(config, scene.objects, rng=rngs["object_motion"])
    if config.object_motion == "physics" and objects:
        from vizsynth.sampling.physics import throw

        if physics is None:
            raise ValueError("object_motion physics: pass objects.physics and the catalogs to start_sequence")
        objects = throw(scene.objects, objects, physics, list(catalogs), frames=config.frames_per_sequence,
                        fps=config.fps, rng=rngs["object_motion"], sequence=sequence)
    blur = config.motion_blur
    motion_blur = MotionBlurSpec(blur.samples, blur.shutter) if blur.samples > 1 else None
    return replace(scene, sequence=SequenceSpec(sequence=sequence, t=0, frames=config.frames_per_sequence,
                                                fps=config.fps, camera=camera, objects=objects,
                                                motion_blur=motion_blur))
