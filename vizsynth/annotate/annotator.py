"""annotate_frame: SceneSpec + RenderResult -> FrameAnnotations (measures, never draws)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vizsynth.annotate.masks import box_xywh, encode_rle, mask_box, object_boxes
from vizsynth.annotate.point_flags import in_image, keypoint_visibility
from vizsynth.assets.keypoints import KeypointSchema
from vizsynth.config import AnnotateConfig
from vizsynth.projection import box_corners, project
from vizsynth.results import RenderResult, Silhouette
from vizsynth.scene import CameraSpec, ObjectSpec, SceneSpec


@dataclass(frozen=True)
class AssetInfo:
    """What the annotator needs to know of an asset's geometry.

    Attributes:
        bounds: (2, 3) model-frame box [min, max] in mesh units (times ``mesh_scale`` = metres).
        keypoints: its named keypoints (may be empty).
    """

    bounds: np.ndarray
    keypoints: KeypointSchema


@dataclass(frozen=True)
class ObjectAnnotation:
    """Labels of one object of the scene, visible or not.

    Attributes:
        instance_id: its value in the instance map.
        category, category_id: category name and 1-based dataset id.
        area: visible pixel count (0: fully hidden or out of view; no positive label then).
        bbox_xywh: COCO [x, y, w, h] tight around the visible mask (w = x_max - x_min + 1), or None.
        segmentation: COCO compressed RLE of the visible mask, or None.
        obj_to_cam: (4, 4) float64 pose in the OpenCV camera frame, metres.
        amodal_area: pixels of the full silhouette inside the image (None without amodal).
        amodal_bbox_xywh: box of the full silhouette, not clipped to the image (may be negative).
        amodal_segmentation: COCO RLE of the full silhouette's part inside the image.
        silhouette_pixels: pixels of the full silhouette on a canvas 3x the image (BOP px_count_all).
        visibility: area / amodal_area (0 when nothing of it is in the image).
        truncation: fraction of the silhouette outside the image.
        ignore: below the visibility / pixel thresholds: flagged ignore + iscrowd, not in YOLO.
        box_extents_m: (2, 3) the object's 3D box in its own frame, metres [min, max].
        box_2d: (9, 2) projected 8 box corners (x slowest) and box centre; NaN behind the camera.
        box_in_image: (9,) bool, which of those fall on an image pixel.
        keypoints: (K, 3) [u, v, flag] with COCO flags 2 visible, 1 occluded, 0 outside.
    """

    instance_id: int
    category: str
    category_id: int
    area: int
    bbox_xywh: list[int] | None
    segmentation: dict | None
    obj_to_cam: np.ndarray
    amodal_area: int | None
    amodal_bbox_xywh: list[int] | None
    amodal_segmentation: dict | None
    silhouette_pixels: int | None
    visibility: float | None
    truncation: float | None
    ignore: bool
    box_extents_m: np.ndarray
    box_2d: np.ndarray
    box_in_image: np.ndarray
    keypoints: np.ndarray


@dataclass(frozen=True)
class FrameAnnotations:
    """Labels of one frame: image-level camera data plus one entry per object of the scene."""

    width: int
    height: int
    camera_K: np.ndarray
    world_to_cam: np.ndarray
    objects: tuple[ObjectAnnotation, ...]

    @property
    def visible(self) -> tuple[ObjectAnnotation, ...]:
        """The objects with at least one visible pixel (the ones that get positive labels)."""
        return tuple(o for o in self.objects if o.area > 0)


def annotate_frame(
    spec: SceneSpec,
    result: RenderResult,
    category_ids: Mapping[str, int],
    asset_info: Mapping[str, AssetInfo],
    settings: AnnotateConfig,
) -> FrameAnnotations:
    """Measures every labelled object's visible and (when rendered) full silhouette, pose, box and
    keypoints. Distractors get no annotation; their pixels hide the objects behind them.

    Raises:
        KeyError: an object's category or asset is missing from the mappings.
    """
    cam = spec.camera
    ids = result.instance_ids
    labelled = [obj for obj in spec.objects if not obj.distractor]  # distractors occlude, unlabelled
    # Each object's pose, 3D box and projected 3D box (corners and centre) first: the projected
    # box tells where in the id map its pixels can be.
    boxes_3d = {}
    for obj in labelled:
        obj_to_cam = spec.obj_to_cam(obj)
        extents = asset_info[obj.asset_key].bounds * obj.mesh_scale
        boxes_3d[obj.instance_id] = (obj_to_cam, extents, project(box_corners(extents), obj_to_cam, cam)[0])
    boxes = object_boxes(ids, {i: _search_box(box_2d, cam) for i, (_, _, box_2d) in boxes_3d.items()})
    objects = []
    for obj in labelled:
        box = boxes.get(obj.instance_id)
        visible = None if box is None else ids[box] == obj.instance_id
        objects.append(_annotate_object(spec, obj, boxes_3d[obj.instance_id], box, visible, result, category_ids,
                                        asset_info, settings))
    return FrameAnnotations(cam.width, cam.height, cam.K, cam.world_to_cam, tuple(objects))


def _search_box(box_2d: np.ndarray, cam: CameraSpec) -> tuple[slice, slice]:
    """Where an object's pixels can be: its projected 3D box with one pixel of margin for the
    rasteriser's rounding (a pixel is the object's when its centre is covered), or the whole
    image when a corner is behind the camera. ``object_boxes`` checks it, so it may be wrong."""
    if np.isnan(box_2d).any():
        return slice(0, cam.height), slice(0, cam.width)
    (u0, v0), (u1, v1) = box_2d.min(axis=0), box_2d.max(axis=0)
    x0, x1 = _pixel_range(u0, u1, cam.width)
    y0, y1 = _pixel_range(v0, v1, cam.height)
    return slice(y0, y1), slice(x0, x1)


def _pixel_range(low: float, high: float, size: int) -> tuple[int, int]:
    """Pixels start..stop-1 of 0..size-1 whose centres lie within one pixel of [low, high]."""
    # Clamped as floats first: a corner just in front of the camera projects very far away.
    start = math.floor(min(max(low, -1.0), size + 1.0)) - 1
    stop = math.ceil(min(max(high, -1.0), size + 1.0)) + 2
    start, stop = max(start, 0), min(stop, size)
    return start, max(stop, start)


def _annotate_object(spec, obj: ObjectSpec, box_3d, box, visible, result, category_ids, asset_info, settings):
    cam = spec.camera
    height, width = cam.height, cam.width
    area, bbox, segmentation = 0, None, None
    if visible is not None:
        area = int(np.count_nonzero(visible))
        bbox = box_xywh(box)
        segmentation = encode_rle(visible, box[1].start, box[0].start, height, width)

    amodal = _amodal(result.silhouettes.get(obj.instance_id), box, visible, height, width) \
        if result.silhouettes is not None else None
    info = asset_info[obj.asset_key]
    obj_to_cam, extents, box_2d = box_3d
    if info.keypoints.names:
        points = np.asarray(info.keypoints.points, dtype=np.float64) * obj.mesh_scale
        uv, z = project(points, obj_to_cam, cam)
        flags = keypoint_visibility(uv, z, result.depth_m, cam, settings.keypoint_occlusion_tolerance_m)
        keypoints = np.column_stack([uv, flags])
    else:
        keypoints = np.zeros((0, 3))

    visibility = truncation = None
    if amodal is not None:
        visibility = area / amodal["area"] if amodal["area"] else 0.0
        truncation = 1.0 - amodal["area"] / amodal["pixels"] if amodal["pixels"] else 1.0
    ignore = area > 0 and (area < settings.min_visible_pixels
                           or (visibility is not None and visibility < settings.min_visibility))
    return ObjectAnnotation(
        instance_id=obj.instance_id, category=obj.category, category_id=category_ids[obj.category],
        area=area, bbox_xywh=bbox, segmentation=segmentation, obj_to_cam=obj_to_cam,
        amodal_area=None if amodal is None else amodal["area"],
        amodal_bbox_xywh=None if amodal is None else amodal["bbox"],
        amodal_segmentation=None if amodal is None else amodal["segmentation"],
        silhouette_pixels=None if amodal is None else amodal["pixels"],
        visibility=visibility, truncation=truncation, ignore=bool(ignore),
        box_extents_m=extents, box_2d=box_2d, box_in_image=in_image(box_2d, cam), keypoints=keypoints,
    )


def _union(a: Silhouette | None, b: Silhouette | None) -> Silhouette | None:
    """The union of two placed masks, on the smallest box holding both."""
    if a is None or b is None:
        return a or b
    x0, y0 = min(a.x0, b.x0), min(a.y0, b.y0)
    x1 = max(a.x0 + a.mask.shape[1], b.x0 + b.mask.shape[1])
    y1 = max(a.y0 + a.mask.shape[0], b.y0 + b.mask.shape[0])
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    for part in (a, b):
        h, w = part.mask.shape
        mask[part.y0 - y0:part.y0 - y0 + h, part.x0 - x0:part.x0 - x0 + w] |= part.mask
    return Silhouette(x0, y0, mask)


def _amodal(silhouette: Silhouette | None, box, visible, height: int, width: int) -> dict:
    """Full-silhouette measures. The visible mask is added to the silhouette so that visible is
    always inside amodal, whatever rounding the separate silhouette draw had at a pixel edge."""
    if visible is not None:
        silhouette = _union(silhouette, Silhouette(box[1].start, box[0].start, visible))
    box = None if silhouette is None else mask_box(silhouette.mask)
    if box is None:
        return {"area": 0, "pixels": 0, "bbox": None, "segmentation": None}
    mask, x0, y0 = silhouette.mask, silhouette.x0, silhouette.y0
    # The part inside the image.
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + mask.shape[1], width), min(y0 + mask.shape[0], height)
    inside = mask[iy0 - y0:max(iy1, iy0) - y0, ix0 - x0:max(ix1, ix0) - x0]
    area = int(np.count_nonzero(inside))
    return {
        "area": area,
        "pixels": int(np.count_nonzero(mask)),
        "bbox": box_xywh(box, x0, y0),
        "segmentation": encode_rle(inside, ix0, iy0, height, width) if area else None,
    }
