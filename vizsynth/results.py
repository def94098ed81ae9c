"""The plain results of rendering a frame: RenderResult, Silhouette and Frame.

They live apart from the renderer so that the stages that only read them (annotation, writers,
validation, job planning) import no pyrender/OpenGL; ``vizsynth.render`` and ``vizsynth.pipeline``
re-export them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from vizsynth.scene import SceneSpec

if TYPE_CHECKING:  # annotate.frame imports this module; a runtime import would be circular
    from vizsynth.annotate.annotator import FrameAnnotations


@dataclass(frozen=True)
class Silhouette:
    """An object's full silhouette (amodal mask), as if nothing occluded it.

    Attributes:
        x0, y0: image pixel coordinates of ``mask[0, 0]`` (may be negative: the silhouette is
            measured on a canvas three times the image size, the image in its middle, as the BOP
            toolkit does, so truncated parts are counted too).
        mask: (h, w) bool, True at pixels whose centre the object covers.
    """

    x0: int
    y0: int
    mask: np.ndarray


@dataclass(frozen=True)
class RenderResult:
    """The images of one render, all from the same geometry.

    Attributes:
        rgb: (H, W, 3) uint8 colour image.
        depth_m: (H, W) float32 z-depth in metres (distance to the image plane), 0 where no surface.
        instance_ids: (H, W) uint16 instance id of the surface seen at each pixel centre, 0 = background.
        silhouettes: {instance id: Silhouette} when asked for (``amodal=True``), else None.
        normals: (H, W, 3) float32 unit surface normals, OpenCV camera frame, facing the camera
            (0 where no surface), when asked for (``normals=True``), else None.
        alpha: (H, W) uint8 coverage of the colour pass when the scene's background is not solid
            (``rgb`` is then over transparent black, ready for compositing), else None.
        depth_png: (H, W) big-endian uint16 (dtype ``>u2``): the depth PNG's samples, z-depth in
            units of the ``depth_scale_m`` asked for, as ``vizsynth.maps.encode_depth`` defines
            them, made by the label pass's shader; None when not asked for.
    """

    rgb: np.ndarray
    depth_m: np.ndarray
    instance_ids: np.ndarray
    silhouettes: dict[int, Silhouette] | None = None
    normals: np.ndarray | None = None
    alpha: np.ndarray | None = None
    depth_png: np.ndarray | None = None


@dataclass(frozen=True)
class Frame:
    """One rendered, annotated frame.

    Attributes:
        index: frame index within its dataset (or position among given scenes).
        spec: the scene that was rendered.
        rgb: (H, W, 3) uint8.
        depth_m: (H, W) float32 z-depth in metres, 0 = no surface.
        instance_ids: (H, W) uint16, 0 = background.
        annotations: boxes, masks, poses, occlusion and keypoints of every object.
        maps: optional extra per-pixel maps by folder name: "semantic" (H, W) uint16 category
            ids, "ray_distance" (H, W) float32 metres, "normals" (H, W, 3) float32 unit normals
            in the OpenCV camera frame (0 where no surface).
        flow: sequences with ``sequence.flow``: {"forward": FlowMaps (t -> t+1), "backward":
            FlowMaps (t -> t-1)} (``vizsynth.annotate.flow``); empty otherwise.
        depth_png: the depth PNG's samples made by the renderer (``RenderResult.depth_png``) in
            units of ``depth_png_scale_m``, or None; the writer encodes ``depth_m`` itself when
            there are none or its depth scale is another.
    """

    index: int
    spec: SceneSpec
    rgb: np.ndarray
    depth_m: np.ndarray
    instance_ids: np.ndarray
    annotations: FrameAnnotations
    maps: dict = field(default_factory=dict)
    flow: dict = field(default_factory=dict)
    depth_png: np.ndarray | None = None
    depth_png_scale_m: float | None = None
