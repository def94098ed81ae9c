"""Per-pixel maps written beside every frame's image: how depth is stored, and the optional maps.

An optional map is one unit, a ``PixelMap``: its folder name (also its record key ``{name}_file``),
the ``annotate`` flag that turns it on, the render pass it needs beyond the colour and label passes
(None when it is derived from the instance ids or the depth), how it is computed from a render, and
how it is encoded for its 16-bit PNG. Adding a map: one entry in ``MAPS``, its flag in
``AnnotateConfig``, and its test; the writer, resume checks and ``--overwrite`` follow ``MAPS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vizsynth.annotate.maps import ray_distance, semantic_map

if TYPE_CHECKING:
    from vizsynth.config import AnnotateConfig, OutputConfig
    from vizsynth.results import RenderResult
    from vizsynth.scene import SceneSpec

DEPTH_MAX_UNITS = 65535


def encode_depth(depth_m: np.ndarray, depth_scale_m: float) -> np.ndarray:
    """(H, W) uint16 depth in units of ``depth_scale_m``; 0 = no surface or beyond the uint16 range."""
    units = np.divide(depth_m, depth_scale_m)
    np.rint(units, out=units)
    # One pass over the frame (OpenCV finds both extremes at once; NumPy's max and min are two
    # passes) proves the usual frame needs neither fix below.
    low, high = cv2.minMaxLoc(units)[:2] if units.size else (0.0, 0.0)
    if high > DEPTH_MAX_UNITS or low < 0:
        units[units > DEPTH_MAX_UNITS] = 0
        # depth <= 0 gives units <= 0 (and a tiny positive depth rounds to 0): clamping them to 0
        # is the same as zeroing where depth <= 0.
        np.maximum(units, 0, out=units)
    return units.astype(np.uint16)


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint16 of unit normals: (n + 1) / 2 * 65535; (0, 0, 0) where no surface."""
    units = np.rint((normals + 1.0) * 0.5 * 65535.0).astype(np.uint16)
    units[~normals.any(axis=-1)] = 0
    return units


@dataclass(frozen=True)
class PixelMap:
    """One optional per-pixel map.

    Attributes:
        name: folder name under the dataset, and the record key ``{name}_file``.
        flag: the ``AnnotateConfig`` field that turns it on.
        render_pass: the renderer pass it needs ("normals"), or None.
        compute: ``compute(result, spec, category_ids) -> (H, W[, C]) array``.
        encode: ``encode(map, output) -> (H, W[, 3]) uint16`` image as OpenCV writes it (BGR order).
    """

    name: str
    flag: str
    render_pass: str | None
    compute: Callable[[RenderResult, SceneSpec, Mapping[str, int]], np.ndarray]
    encode: Callable[[np.ndarray, OutputConfig], np.ndarray]


MAPS: tuple[PixelMap, ...] = (
    PixelMap("semantic", "semantic_map", None,
             lambda result, spec, category_ids: semantic_map(result.instance_ids, spec, category_ids),
             lambda image, output: image),
    PixelMap("ray_distance", "ray_distance_map", None,
             lambda result, spec, category_ids: ray_distance(result.depth_m, spec.camera),
             lambda image, output: encode_depth(image, output.depth_scale_m)),
    PixelMap("normals", "normals_map", "normals",
             lambda result, spec, category_ids: result.normals,
             lambda image, output: encode_normals(image)[..., ::-1]),  # OpenCV writes BGR: keep x, y, z as R, G, B
)
MAP_NAMES = tuple(m.name for m in MAPS)
BY_NAME = {m.name: m for m in MAPS}


def enabled_maps(settings: AnnotateConfig) -> tuple[PixelMap, ...]:
    """The maps whose flag is on, in ``MAPS`` order."""
    return tuple(m for m in MAPS if getattr(settings, m.flag))


# Optical-flow files of sequence frames (written by vizsynth.io.flow): record key -> folder.
FLOW_DIRECTIONS = ("forward", "backward")
FLOW_RECORD_FILES = {
    key: folder
    for d in FLOW_DIRECTIONS
    for key, folder in ((f"flow_{d}_file", f"flow_{d}"), (f"flow_{d}_kitti_file", f"flow_{d}"),
                        (f"flow_{d}_occlusion_file", f"flow_{d}_occlusion"), (f"scene_flow_{d}_file", f"scene_flow_{d}"))
}
FLOW_FOLDERS = tuple(dict.fromkeys(FLOW_RECORD_FILES.values()))
