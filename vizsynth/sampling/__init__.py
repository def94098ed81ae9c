"""Sampling decides: config + per-frame random streams -> SceneSpec. Nothing here renders."""

from vizsynth.sampling.camera import intrinsics_from_yfov, sample_camera
from vizsynth.sampling.lighting import sample_lights
from vizsynth.sampling.objects import sample_material, sample_objects, sample_rotation
from vizsynth.sampling.scene_sampler import sample_scene

__all__ = [
    "intrinsics_from_yfov", "sample_camera", "sample_lights", "sample_material",
    "sample_objects", "sample_rotation", "sample_scene",
]
