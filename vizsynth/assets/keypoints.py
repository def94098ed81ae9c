"""Named 3D keypoints in an asset's model frame (mesh units), and the built-in primitives' defaults."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product


@dataclass(frozen=True)
class KeypointSchema:
    """Keypoints of an asset.

    Attributes:
        names: keypoint names, in COCO order.
        points: (x, y, z) per name in the model frame, mesh units (before ``mesh_scale``).
        skeleton: COCO skeleton: pairs of 1-based indices into ``names``.
    """

    names: tuple[str, ...]
    points: tuple[tuple[float, float, float], ...]
    skeleton: tuple[tuple[int, int], ...] = ()


def _cube() -> KeypointSchema:
    corners = list(product((-0.5, 0.5), repeat=3))
    names = tuple("corner_" + "".join("-+"[c > 0] for c in corner) for corner in corners)
    edges = tuple(
        (i + 1, j + 1) for i in range(8) for j in range(i + 1, 8)
        if sum(a != b for a, b in zip(corners[i], corners[j])) == 1
    )
    return KeypointSchema(names, tuple(corners), edges)


PRIMITIVE_KEYPOINTS: dict[str, KeypointSchema] = {
    "cube": _cube(),
    "sphere": KeypointSchema(("top", "bottom"), ((0, 0, 0.5), (0, 0, -0.5)), ((1, 2),)),
    "cylinder": KeypointSchema(("top_center", "bottom_center"), ((0, 0, 0.5), (0, 0, -0.5)), ((1, 2),)),
    "cone": KeypointSchema(("apex", "base_center"), ((0, 0, 0.5), (0, 0, -0.5)), ((1, 2),)),
    "torus": KeypointSchema(  # on the outer equator, so they lie on the surface
        ("rim_x+", "rim_y+", "rim_x-", "rim_y-"),
        ((0.5, 0, 0), (0, 0.5, 0), (-0.5, 0, 0), (0, -0.5, 0)),
        ((1, 2), (2, 3), (3, 4), (4, 1)),
    ),
    "capsule": KeypointSchema(("top", "bottom"), ((0, 0, 0.5), (0, 0, -0.5)), ((1, 2),)),
}

NO_KEYPOINTS = KeypointSchema((), ())
