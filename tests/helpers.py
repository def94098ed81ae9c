"""Plain helpers shared by test modules (scenes, annotation with real asset data, the YCB-Video COCO file).

A plain module, not conftest.py: conftest is for the fixtures and hooks pytest loads itself, and
importing it from test modules fails under a plain ``pytest`` run.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vizsynth.assets.meshes import MeshLibrary
from vizsynth.scene import CameraSpec, ObjectSpec, SceneSpec

SMALL = {"image": {"width": 64, "height": 48}}
# The one generated dataset tests share (conftest ``small_dataset``): its config, frame count and seed.
SHARED_CONFIG = {"image": {"width": 64, "height": 48}, "objects": {"count": {"uniform": [2, 5]}}}
SHARED_FRAMES = 12
SHARED_SEED = 3
ROOT = Path(__file__).resolve().parents[1]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python that imports this checkout's vizsynth: ``ROOT`` first on
    PYTHONPATH, followed by the PYTHONPATH the tests run under (where the dependencies may come from)."""
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


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
    from vizsynth.annotate.annotator import AssetInfo, annotate_frame
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


YCBV = Path(__file__).parent / "data" / "ycbv"


def ycbv_coco(path: Path, image_file: str) -> Path:
    """Writes the in-repo YCB-Video frames as a COCO file built from their real label masks.

    Args:
        path: the JSON file to write.
        image_file: which file of each frame folder serves as its image (label.png, depth.png).
    """
    import json

    import cv2
    from pycocotools import mask as coco_mask

    images, annotations = [], []
    for image_id, frame in enumerate(sorted((YCBV / "frames").iterdir()), start=1):
        label = cv2.imread(str(frame / "label.png"), cv2.IMREAD_UNCHANGED)
        height, width = label.shape
        images.append({"id": image_id, "file_name": f"{frame.name}/{image_file}", "width": width, "height": height})
        for value in sorted(set(np.unique(label)) - {0}):
            mask = label == value
            rows, cols = np.nonzero(mask)
            rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": int(value), "iscrowd": 0,
                "bbox": [int(cols.min()), int(rows.min()), int(np.ptp(cols) + 1), int(np.ptp(rows) + 1)],
                "area": int(mask.sum()), "segmentation": {"size": [height, width], "counts": rle["counts"].decode()},
            })
    categories = [{"id": i, "name": f"ycb_{i}"} for i in range(1, 22)]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path
