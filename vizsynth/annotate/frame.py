"""annotate_frame: SceneSpec + RenderResult -> FrameAnnotations (measures, never draws)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vizsynth.annotate.masks import box_xywh, encode_rle, instance_boxes
from vizsynth.render.renderer import RenderResult
from vizsynth.scene import SceneSpec


@dataclass(frozen=True)
class ObjectAnnotation:
    """Labels of one visible object.

    Attributes:
        instance_id: its value in the instance map.
        category, category_id: category name and 1-based dataset id.
        bbox_xywh: COCO [x, y, w, h] tight around the visible mask (pixels, w = x_max - x_min + 1).
        area: visible pixel count.
        segmentation: COCO compressed RLE of the visible mask.
        obj_to_cam: (4, 4) float64 pose in the OpenCV camera frame, metres.
    """

    instance_id: int
    category: str
    category_id: int
    bbox_xywh: list[int]
    area: int
    segmentation: dict
    obj_to_cam: np.ndarray


@dataclass(frozen=True)
class FrameAnnotations:
    """Labels of one frame: image-level camera data plus one entry per visible object."""

    width: int
    height: int
    camera_K: np.ndarray
    world_to_cam: np.ndarray
    objects: tuple[ObjectAnnotation, ...]


def annotate_frame(spec: SceneSpec, result: RenderResult, category_ids: Mapping[str, int]) -> FrameAnnotations:
    """Measures every object's visible mask in ``result.instance_ids``.

    Objects with no visible pixel get no annotation.

    Raises:
        KeyError: an object's category is missing from ``category_ids``.
    """
    ids = result.instance_ids
    boxes = instance_boxes(ids)
    objects = []
    for obj in spec.objects:
        box = boxes.get(obj.instance_id)
        if box is None:
            continue
        area = int(np.count_nonzero(ids[box] == obj.instance_id))
        objects.append(ObjectAnnotation(
            instance_id=obj.instance_id,
            category=obj.category,
            category_id=category_ids[obj.category],
            bbox_xywh=box_xywh(box),
            area=area,
            segmentation=encode_rle(ids, obj.instance_id, box),
            obj_to_cam=spec.obj_to_cam(obj),
        ))
    return FrameAnnotations(
        width=spec.camera.width, height=spec.camera.height, camera_K=spec.camera.K,
        world_to_cam=spec.camera.world_to_cam, objects=tuple(objects),
    )
