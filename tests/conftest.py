"""Shared fixtures: one GL context for the whole session, small images, tiny in-memory assets."""

from __future__ import annotations

import numpy as np
import pytest

from vizsynth.assets.meshes import MeshLibrary
from vizsynth.render import Renderer
from vizsynth.scene import CameraSpec, ObjectSpec, SceneSpec

SMALL = {"image": {"width": 64, "height": 48}}


@pytest.fixture(scope="session")
def library() -> MeshLibrary:
    return MeshLibrary()


@pytest.fixture(scope="session")
def renderer(library):
    with Renderer(library, 64, 48) as r:
        yield r


def camera(K, width, height, world_to_cam=None) -> CameraSpec:
    return CameraSpec(
        K=np.asarray(K, dtype=np.float64), width=width, height=height,
        world_to_cam=np.eye(4) if world_to_cam is None else np.asarray(world_to_cam, dtype=np.float64),
    )


def single_object_scene(cam: CameraSpec, primitive: str, size_m: float, obj_to_cam: np.ndarray) -> SceneSpec:
    """A scene whose world frame is the camera frame, holding one primitive."""
    obj = ObjectSpec(1, primitive, primitive, None, size_m, np.asarray(obj_to_cam, dtype=np.float64))
    return SceneSpec(camera=cam, objects=(obj,), lights=())


def annotate(scene: SceneSpec, result, library: MeshLibrary, **settings):
    """annotate_frame with every category id 1 and the assets' real bounds and keypoints."""
    from vizsynth.annotate.frame import AssetInfo, annotate_frame
    from vizsynth.assets.keypoints import NO_KEYPOINTS, PRIMITIVE_KEYPOINTS
    from vizsynth.config import AnnotateConfig

    info = {
        o.asset_key: AssetInfo(
            np.asarray(library.get(primitive=o.primitive, mesh=o.mesh).bounds, dtype=np.float64),
            PRIMITIVE_KEYPOINTS.get(o.primitive, NO_KEYPOINTS),
        )
        for o in scene.objects
    }
    categories = {o.category: 1 for o in scene.objects}
    return annotate_frame(scene, result, categories, info, AnnotateConfig(**settings))
