"""The dataset config: a pydantic schema, YAML loading, ``--set`` overrides and readable errors.

Every random field accepts a constant or a distribution (see ``vizsynth.distributions``). Unknown
keys are errors. ``DatasetConfig()`` is the built-in default: it renders sensible scenes of
primitives with no files at all. Stages receive their own sub-config (``config.camera`` ...).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    PlainSerializer,
    PositiveFloat,
    Tag,
    ValidationError,
    create_model,
    model_serializer,
    model_validator,
)

from vizsynth.appearance.backgrounds import BACKGROUND_KINDS
from vizsynth.appearance.effects import EFFECTS
from vizsynth.appearance.textures import PROCEDURAL_TEXTURES, TEXTURE_KINDS
from vizsynth.assets.primitives import PRIMITIVE_NAMES
from vizsynth.distributions import Param, bounded, parse_param
from vizsynth.errors import ConfigError, format_validation_error
from vizsynth.scene import LIGHT_TYPES, rotation_error

PRIMITIVES = PRIMITIVE_NAMES

# Physical bounds of the config's numbers. Beyond them a value is a typo, not a scene: 10**6
# objects would hang sampling, a 1e9 px blur sigma or a 1e308 m distance would overflow.
MAX_OBJECTS = 1000            # objects (and distractors) per frame
MAX_SIZE_M = 100.0            # an object's size
MAX_DISTANCE_M = 10_000.0     # positions, distances, depths and extents (10 km)
MAX_SCALE = 1000.0            # mesh_scale, unit_scale_m
MAX_WEIGHT = 1e6              # asset weights, split fractions (relative odds)
MAX_ANGLE_DEG = 3600.0        # angles that wrap around (ten turns)
MAX_PIXELS = 10**9            # pixel counts
MAX_INTRINSICS_PX = 1e6       # fx, fy, |cx|, |cy|


def _whole_numbers(value: Any) -> Any:
    """``value`` with every float that is a whole number written as an int (lists, dicts inside)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    return value


def _param(soft: bool = False, integer: bool = False, **bounds: float) -> Any:
    """A config field type: a constant or distribution whose every draw obeys ``bounds``
    (``soft``: an unclipped normal passes when mean ± 6 std does, see ``bounded``). ``integer``
    fields (counts, drawn with ``integer=True``) are written back with whole numbers as ints."""
    if integer:
        serializer = PlainSerializer(lambda p: _whole_numbers(p.to_config()))
    else:
        serializer = PlainSerializer(lambda p: p.to_config())
    return Annotated[
        Param,
        BeforeValidator(parse_param),
        AfterValidator(bounded(soft=soft, **bounds)),
        serializer,
    ]


NonNegative = _param(ge=0)
Unit = _param(ge=0, le=1)
Size = _param(gt=0, le=MAX_SIZE_M)
Scale = _param(gt=0, le=MAX_SCALE)
Distance = _param(gt=0, le=MAX_DISTANCE_M)
Count = _param(integer=True, ge=0, le=MAX_OBJECTS)
Coordinate = _param(soft=True, ge=-MAX_DISTANCE_M, le=MAX_DISTANCE_M)
Angle = _param(soft=True, ge=-MAX_ANGLE_DEG, le=MAX_ANGLE_DEG)
Color = tuple[Unit, Unit, Unit]
Vec3 = tuple[Coordinate, Coordinate, Coordinate]
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT)]
UnitScale = Annotated[float, Field(gt=0, le=MAX_SCALE)]


def _check_category(name: str) -> str:
    if not name.strip():
        raise ValueError(f"a category name must not be empty or blank, got {name!r}")
    return name


CategoryName = Annotated[str, AfterValidator(_check_category)]


def _u(low: float, high: float) -> Param:
    return Param("uniform", (float(low), float(high)))


def _c(value: Any) -> Param:
    return Param("constant", (value,))


class _ConfigErrors(type(BaseModel)):
    """Building a config model in Python (``DatasetConfig(...)``) raises a ConfigError naming the
    field, like load_config. Only direct calls pass here: pydantic builds nested models (and
    load_config's) without calling the class, so their errors keep the full field path."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, cls.__name__, _all_field_names(cls))) from None


class _Model(BaseModel, metaclass=_ConfigErrors):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ImageConfig(_Model):
    """Output image size in pixels."""

    width: int = Field(640, gt=0)
    height: int = Field(480, gt=0)


class PrimitiveAsset(_Model):
    """A built-in primitive (made with trimesh); its category is its name."""

    primitive: Literal[PRIMITIVES]  # type: ignore[valid-type]
    weight: Weight = Field(1.0, description="relative odds, 0..1e6")


# A point or direction in a mesh's own units (keypoints, symmetry axes and transforms).
MeshCoordinate = Annotated[float, Field(ge=-1e6, le=1e6)]
# A tolerance on a declared symmetry's rotation part: values typed with 4 to 6 decimals pass.
_ROTATION_TOLERANCE = 1e-4


class ContinuousSymmetry(_Model):
    """A continuous rotational symmetry about the line through ``offset`` along ``axis``."""

    axis: tuple[MeshCoordinate, MeshCoordinate, MeshCoordinate] = Field(description="direction, not all zero")
    offset: tuple[MeshCoordinate, MeshCoordinate, MeshCoordinate] = Field(
        (0.0, 0.0, 0.0), description="a point on the axis, mesh units"
    )

    @model_validator(mode="after")
    def _nonzero_axis(self) -> "ContinuousSymmetry":
        if not any(self.axis):
            raise ValueError(f"axis must not be all zeros, got {list(self.axis)}")
        return self


class SymmetriesConfig(_Model):
    """A mesh's symmetries, in the BOP toolkit's form (models_info.json): rigid transforms mapping
    the model onto itself (identity implied, not listed) and continuous rotational symmetries."""

    discrete: tuple[tuple[MeshCoordinate, ...], ...] = Field(
        (), description="flattened row-major 4x4 rigid transforms, translation in mesh units"
    )
    continuous: tuple[ContinuousSymmetry, ...] = ()

    @model_validator(mode="after")
    def _rigid_transforms(self) -> "SymmetriesConfig":
        for i, values in enumerate(self.discrete):
            if len(values) != 16:
                raise ValueError(f"discrete[{i}] must hold 16 numbers (a row-major 4x4 transform), got {len(values)}")
            matrix = np.asarray(values, dtype=np.float64).reshape(4, 4)
            rotation = matrix[:3, :3]
            if not np.allclose(matrix[3], [0, 0, 0, 1]):
                raise ValueError(f"discrete[{i}]: the last row must be [0, 0, 0, 1], got {matrix[3].tolist()}")
            if rotation_error(matrix) > _ROTATION_TOLERANCE or np.linalg.det(rotation) <= 0:
                raise ValueError(f"discrete[{i}]: the upper-left 3x3 must be a rotation (orthonormal, "
                                 f"determinant +1), got {rotation.tolist()}")
        return self


class MeshAsset(_Model):
    """One mesh file (OBJ, PLY, GLB/GLTF, STL) with its category and unit scale."""

    mesh: str
    category: CategoryName = Field(description="not empty or blank")
    unit_scale_m: UnitScale = Field(1.0, description="metres per mesh unit, 0.001 for millimetres; (0, 1000]")
    weight: Weight = Field(1.0, description="relative odds, 0..1e6")
    keypoints: dict[str, tuple[MeshCoordinate, MeshCoordinate, MeshCoordinate]] = Field(
        default_factory=dict, description="named 3D points in the model frame, mesh units, each within ±1e6"
    )
    skeleton: tuple[tuple[str, str], ...] = Field((), description="pairs of keypoint names to connect")
    symmetries: SymmetriesConfig | None = Field(
        None, description="its symmetries for BOP's models_info.json (MSSD, MSPD, ADI); none when not given"
    )

    @model_validator(mode="after")
    def _skeleton_names(self) -> "MeshAsset":
        unknown = sorted({n for pair in self.skeleton for n in pair} - set(self.keypoints))
        if unknown:
            raise ValueError(f"skeleton names {unknown} are not among the keypoints {sorted(self.keypoints)}")
        return self


class MeshFolderAsset(_Model):
    """Every mesh file in a folder; each file's category is its file stem unless given."""

    folder: str
    category: CategoryName | None = Field(None, description="not empty or blank")
    unit_scale_m: UnitScale = Field(1.0, description="metres per mesh unit; (0, 1000]")
    weight: Weight = Field(1.0, description="weight of each mesh in the folder, 0..1e6")


def _asset_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {PrimitiveAsset: "primitive", MeshAsset: "mesh", MeshFolderAsset: "folder"}[type(value)]
    if isinstance(value, dict):
        return next((k for k in ("primitive", "mesh", "folder") if k in value), None)
    return None


AssetEntry = Annotated[
    Union[
        Annotated[PrimitiveAsset, Tag("primitive")],
        Annotated[MeshAsset, Tag("mesh")],
        Annotated[MeshFolderAsset, Tag("folder")],
    ],
    Discriminator(
        _asset_kind,
        custom_error_type="asset_kind",
        custom_error_message="an asset needs one of the keys 'primitive', 'mesh' or 'folder'",
    ),
]


def _default_assets() -> tuple:
    return tuple(PrimitiveAsset(primitive=name) for name in PRIMITIVES)


Extent = Annotated[PositiveFloat, Field(le=MAX_DISTANCE_M)]
MAX_MASS_KG = 10_000.0        # an object's mass
MAX_FRICTION = 2.0            # Coulomb friction coefficient (rubber on concrete is about 1)


class ContainerConfig(_Model):
    """physics: a box-shaped bin with walls standing on the plane z = 0, centred on the origin, or
    (``mesh``) a mesh file standing on z = 0, centred in x, y on the origin."""

    enabled: bool = Field(True, description="drop into the bin (false: onto the bare plane z = 0)")
    size_m: tuple[Extent, Extent] = Field((0.4, 0.3), description="outer length (x) and width (y), (0, 10 km]")
    wall_height_m: float = Field(0.12, gt=0, le=MAX_SIZE_M, description="outer height, from the plane z = 0, (0, 100]")
    wall_thickness_m: float = Field(0.01, gt=0, le=MAX_SIZE_M, description="walls and base, (0, 100]")
    category: CategoryName | None = Field(None, description="label the bin as this category (default: unlabelled)")
    color: Color = Field(default_factory=lambda: (_u(0.2, 0.8), _u(0.2, 0.8), _u(0.2, 0.8)))
    mesh: str | None = Field(
        None, description="a mesh file (OBJ, PLY, GLB/GLTF, STL) as the container instead of the box bin: an exact "
        "static triangle mesh, its lowest point on z = 0, its bounding box centred in x, y on the origin"
    )
    unit_scale_m: UnitScale = Field(1.0, description="mesh: metres per mesh unit, 0.001 for millimetres; (0, 1000]")

    @model_serializer(mode="wrap")
    def _omit_unused_mesh(self, handler: Any) -> Any:
        # Configs with the box bin print and save exactly as before the mesh container existed.
        data = handler(self)
        if self.mesh is None and isinstance(data, dict):
            data.pop("mesh", None)
            data.pop("unit_scale_m", None)
        return data

    @model_validator(mode="after")
    def _mesh_or_box(self) -> "ContainerConfig":
        if self.mesh is None:
            if self.unit_scale_m != 1.0:
                raise ValueError(f"container.unit_scale_m ({self.unit_scale_m:g}) applies only to container.mesh, "
                                 "which is not set")
            return self
        if not self.enabled:
            raise ValueError(f"container.mesh ({self.mesh}) needs container.enabled true")
        fields = type(self).model_fields
        box = [name for name in ("size_m", "wall_height_m", "wall_thickness_m")
               if getattr(self, name) != fields[name].default]
        if box:
            raise ValueError(
                f"container.mesh ({self.mesh}) is the whole container: leave out the box bin's "
                + ", ".join(f"{name} ({getattr(self, name)})" for name in box)
            )
        return self

    @model_validator(mode="after")
    def _has_inside(self) -> "ContainerConfig":
        if 2 * self.wall_thickness_m >= min(self.size_m) or self.wall_thickness_m >= self.wall_height_m:
            raise ValueError(
                f"container.wall_thickness_m ({self.wall_thickness_m:g} m) leaves no inside: it must be < half "
                f"the smaller of size_m {list(self.size_m)} and < wall_height_m ({self.wall_height_m:g} m)"
            )
        return self


class PhysicsConfig(_Model):
    """placement "physics": objects and distractors dropped from random poses and simulated
    (PyBullet) until at rest; the settled poses are the frame's poses."""

    drop_height_m: _param(ge=0, le=MAX_SIZE_M) = Field(
        default_factory=lambda: _u(0.02, 0.2), description="gap under each object's bounding sphere when dropped, 0..100 m"
    )
    drop_extent_m: tuple[Extent, Extent] = Field(
        (0.2, 0.2), description="without a container: half extents x, y of the drop area, (0, 10 km]"
    )
    mass_kg: _param(gt=0, le=MAX_MASS_KG) = Field(
        default_factory=lambda: _u(0.05, 0.5), description="(0, 10000] kg"
    )
    friction: _param(ge=0, le=MAX_FRICTION) = Field(
        default_factory=lambda: _u(0.4, 0.9), description="Coulomb friction coefficient, 0..2"
    )
    rolling_friction: _param(ge=0, le=1) = Field(
        default_factory=lambda: _c(0.005), description="rolling resistance (stops round objects rolling forever), 0..1"
    )
    restitution: Unit = Field(default_factory=lambda: _u(0.0, 0.3), description="bounciness, 0..1")
    container: ContainerConfig = Field(default_factory=ContainerConfig)
    time_step_s: float = Field(1 / 240, gt=0, le=0.05, description="fixed simulation step, (0, 0.05] s")
    max_steps: int = Field(2000, ge=1, le=100_000, description="step bound of one drop, 1..100000")
    rest_speed_m_s: float = Field(
        0.002, gt=0, le=10, description="at rest: every object's speed (linear + angular x radius) below this, (0, 10]"
    )
    max_tries: int = Field(
        5, ge=1, le=100, description="drops per frame (an object left the bin or none settled) before a PlacementError"
    )
    collision: Literal["hull", "vhacd"] = Field(
        "hull", description="moving objects' collision shapes: hull (each mesh's convex hull) or vhacd (Bullet's "
        "V-HACD convex decomposition, cached per asset on disk: concave objects can hold others)"
    )
    vhacd_resolution: int = Field(
        100_000, ge=10_000, le=16_000_000, description="vhacd: voxels of the decomposition, 10000..16000000"
    )
    vhacd_concavity: float = Field(0.0025, ge=0, le=1, description="vhacd: largest concavity a part may keep, 0..1")


class ObjectsConfig(_Model):
    """How many objects, which assets, and how they are posed and sized."""

    count: Count = Field(default_factory=lambda: _u(3, 6), description="objects per frame (integer), 0..1000")
    assets: tuple[AssetEntry, ...] = Field(default_factory=_default_assets)
    primitive_size_m: Size = Field(default_factory=lambda: _u(0.12, 0.3), description="largest extent, (0, 100] m")
    mesh_scale: Scale = Field(default_factory=lambda: _c(1.0), description="(0, 1000]")
    position_m: Vec3 = Field(
        default_factory=lambda: (_u(-0.3, 0.3), _u(-0.3, 0.3), _u(0.0, 0.15)), description="each within ±10 km"
    )
    rotation: Literal["uniform", "upright", "none"] = "uniform"
    placement: Literal["scatter", "flying", "tabletop", "physics"] = Field(
        "scatter", description="scatter: position_m and rotation as drawn, may intersect; flying: random "
        "6D poses in the camera's view; tabletop: at rest on the plane z = 0 (both without interpenetration); "
        "physics: dropped and simulated until at rest (see physics)"
    )
    flying_depth_m: Distance = Field(
        default_factory=lambda: _u(0.6, 1.4), description="flying: camera z-depth, (0, 10 km]"
    )
    tabletop_extent_m: tuple[Extent, Extent] = Field((0.5, 0.5), description="tabletop: half extents x, y, (0, 10 km]")
    max_placement_tries: int = Field(
        200, ge=1, le=10_000, description="tries per object before a PlacementError, 1..10000"
    )
    balance: bool = Field(
        False, description="equal instance counts per category over the dataset (asset weights apply within a category)"
    )
    physics: PhysicsConfig | None = Field(None, description="placement physics: the simulation (defaults when omitted)")

    @model_validator(mode="before")
    @classmethod
    def _physics_defaults(cls, data: Any) -> Any:
        # The resolved config of a physics placement spells out every physics setting it used.
        if isinstance(data, dict) and data.get("placement") == "physics" and data.get("physics") is None:
            data = {**data, "physics": {}}
        return data

    @model_serializer(mode="wrap")
    def _omit_unused_physics(self, handler: Any) -> Any:
        # Configs that do not use physics print and save exactly as before it existed.
        data = handler(self)
        if self.physics is None and isinstance(data, dict):
            data.pop("physics", None)
        return data

    @model_validator(mode="after")
    def _some_weight(self) -> "ObjectsConfig":
        if self.count.support()[1] > 0 and not any(a.weight > 0 for a in self.assets):
            raise ValueError("objects.assets must hold at least one asset with weight > 0")
        return self


class DistractorsConfig(_Model):
    """Unlabelled objects that occlude the labelled ones and never produce labels.

    They are placed like the objects (``objects.placement``, never interpenetrating them in
    flying/tabletop mode) and get materials from ``material``.
    """

    count: Count = Field(default_factory=lambda: _c(0), description="distractors per frame (integer), 0..1000")
    assets: tuple[AssetEntry, ...] = Field(default_factory=_default_assets)
    size_m: Size = Field(default_factory=lambda: _u(0.05, 0.2), description="primitive size, (0, 100] m")
    mesh_scale: Scale = Field(default_factory=lambda: _c(1.0), description="(0, 1000]")


class MaterialConfig(_Model):
    """Physically based material ranges for objects without their own appearance."""

    base_color: Color = Field(default_factory=lambda: (_u(0.05, 1), _u(0.05, 1), _u(0.05, 1)))
    metallic: Unit = Field(default_factory=lambda: _u(0.0, 0.6))
    roughness: Unit = Field(default_factory=lambda: _u(0.2, 1.0))
    keep_asset_appearance: bool = Field(
        True, description="meshes with their own texture or vertex colours keep them"
    )
    texture_probability: Unit = Field(default_factory=lambda: _c(0.0), description="chance of a procedural texture")
    textures: tuple[Literal[TEXTURE_KINDS], ...] = Field(  # type: ignore[valid-type]
        PROCEDURAL_TEXTURES, description="texture kinds to draw from ('image': from texture_folder)", min_length=1
    )
    texture_folder: str | None = Field(None, description="image textures (jpg/png) for kind 'image'")

    @model_validator(mode="after")
    def _folder_for_images(self) -> "MaterialConfig":
        if "image" in self.textures and self.texture_folder is None:
            raise ValueError("material.textures holds 'image', so material.texture_folder must name a folder of images")
        return self


def _check_light_types(param: Param) -> Param:
    options = param.args
    bad = [o for o in options if o not in LIGHT_TYPES]
    if bad:
        raise ValueError(f"light types must be among {list(LIGHT_TYPES)}, got {bad}")
    return param


LightType = Annotated[
    Param, BeforeValidator(parse_param), AfterValidator(_check_light_types),
    PlainSerializer(lambda p: p.to_config()),
]


class LightsConfig(_Model):
    """Lights placed on a sphere around the world origin, shining at it."""

    count: _param(integer=True, ge=0, le=4) = Field(
        default_factory=lambda: _u(1, 3), description="at most 4: the renderer takes 4 lights of a type"
    )
    type: LightType = Field(default_factory=lambda: Param("choice", LIGHT_TYPES))
    intensity: _param(ge=0, le=1000) = Field(
        default_factory=lambda: _u(2.0, 6.0),
        description="irradiance at the target, 0..1000; point/spot intensity is scaled by distance squared",
    )
    color: Color = Field(default_factory=lambda: (_u(0.8, 1), _u(0.8, 1), _u(0.8, 1)))
    color_temperature_k: _param(ge=1000, le=40000) | None = Field(
        None, description="when given, the light colour is a black body's at this temperature (color is ignored)"
    )
    distance_m: Distance = Field(default_factory=lambda: _u(1.5, 3.0), description="(0, 10 km]")
    elevation_deg: _param(ge=-90, le=90) = Field(default_factory=lambda: _u(20, 85))
    azimuth_deg: Angle = Field(default_factory=lambda: _u(0, 360), description="within ±3600")
    spot_cone_deg: _param(gt=0, le=90) = Field(default_factory=lambda: _u(20, 45))
    ambient: Color = Field(default_factory=lambda: (_c(0.15), _c(0.15), _c(0.15)))


class Intrinsics(_Model):
    """Explicit pinhole intrinsics in pixels, OpenCV convention (pixel centres at integers)."""

    fx: float = Field(gt=0, le=MAX_INTRINSICS_PX, description="(0, 1e6] px")
    fy: float = Field(gt=0, le=MAX_INTRINSICS_PX, description="(0, 1e6] px")
    cx: float = Field(ge=-MAX_INTRINSICS_PX, le=MAX_INTRINSICS_PX, description="within ±1e6 px")
    cy: float = Field(ge=-MAX_INTRINSICS_PX, le=MAX_INTRINSICS_PX, description="within ±1e6 px")


class CameraConfig(_Model):
    """A pinhole camera orbiting a look-at target."""

    yfov_deg: _param(gt=0, le=170) = Field(default_factory=lambda: _u(40, 60), description="(0, 170]")
    intrinsics: Intrinsics | None = Field(None, description="overrides yfov_deg when given")
    distance_m: Distance = Field(default_factory=lambda: _u(0.8, 1.3), description="(0, 10 km]")
    elevation_deg: _param(ge=-90, le=90) = Field(default_factory=lambda: _u(20, 75))
    azimuth_deg: Angle = Field(default_factory=lambda: _u(0, 360), description="within ±3600")
    roll_deg: Angle = Field(default_factory=lambda: _u(-10, 10), description="within ±3600")
    look_at_m: Vec3 = Field(default_factory=lambda: (_c(0.0), _c(0.0), _c(0.05)), description="each within ±10 km")
    look_at_jitter_m: _param(ge=0, le=MAX_DISTANCE_M) = Field(default_factory=lambda: _c(0.05), description="0..10 km")
    focal_jitter: _param(gt=-0.5, lt=0.5) = Field(
        default_factory=lambda: _c(0.0), description="relative change of fx and fy, each drawn on its own"
    )
    principal_point_jitter_px: _param(soft=True, ge=-10_000, le=10_000) = Field(
        default_factory=lambda: _c(0.0), description="added to cx and cy, within ±10000"
    )
    znear_m: float = Field(0.01, gt=0, le=MAX_DISTANCE_M, description="(0, 10 km]")
    zfar_m: float = Field(50.0, gt=0, le=65535.0, description="at most 65535 * output.depth_scale_m")

    @model_validator(mode="after")
    def _near_far(self) -> "CameraConfig":
        if self.znear_m >= self.zfar_m:
            raise ValueError(f"camera needs znear_m < zfar_m, got {self.znear_m:g} >= {self.zfar_m:g}")
        return self


def _check_background_kinds(param: Param) -> Param:
    bad = [o for o in param.args if o not in BACKGROUND_KINDS]
    if bad:
        raise ValueError(f"background kinds must be among {list(BACKGROUND_KINDS)}, got {bad}")
    return param


class BackgroundConfig(_Model):
    """What is seen behind the objects: a flat colour, a procedural texture, or a photo."""

    kind: Annotated[Param, BeforeValidator(parse_param), AfterValidator(_check_background_kinds),
                    PlainSerializer(lambda p: p.to_config())] = Field(default_factory=lambda: _c("solid"))
    color: Color = Field(default_factory=lambda: (_u(0.1, 0.9), _u(0.1, 0.9), _u(0.1, 0.9)))
    textures: tuple[Literal[PROCEDURAL_TEXTURES], ...] = Field(  # type: ignore[valid-type]
        PROCEDURAL_TEXTURES, min_length=1, description="procedural kinds for kind 'procedural'"
    )
    image_folder: str | None = Field(None, description="photos (jpg/png) for kind 'image'")
    image_zoom: _param(ge=1, le=100) = Field(
        default_factory=lambda: _u(1.0, 2.0), description="crop = image / zoom, 1..100"
    )
    floor: bool = Field(False, description="a 6 x 6 m floor at z = 0 that receives shadows (unlabelled)")
    floor_color: Color = Field(default_factory=lambda: (_u(0.2, 0.8), _u(0.2, 0.8), _u(0.2, 0.8)))
    floor_texture_probability: Unit = Field(
        default_factory=lambda: _c(0.0), description="chance of a texture on the floor (tiled every 0.5 m)"
    )
    floor_textures: tuple[Literal[TEXTURE_KINDS], ...] = Field(  # type: ignore[valid-type]
        PROCEDURAL_TEXTURES, min_length=1,
        description="floor texture kinds ('image': photos from material.texture_folder)",
    )

    @model_serializer(mode="wrap")
    def _omit_untextured_floor(self, handler: Any) -> Any:
        # Configs that never texture the floor print and save exactly as before the option existed.
        data = handler(self)
        if isinstance(data, dict) and data.get("floor_texture_probability") == 0.0 \
                and tuple(data.get("floor_textures", ())) == PROCEDURAL_TEXTURES:
            data.pop("floor_texture_probability")
            data.pop("floor_textures")
        return data

    @model_validator(mode="after")
    def _folder_for_images(self) -> "BackgroundConfig":
        if "image" in self.kind.args and self.image_folder is None:
            raise ValueError("background.kind can be 'image', so background.image_folder must name a folder of photos")
        return self


def _effects_config() -> type[_Model]:
    """One field per effect of ``vizsynth.appearance.effects.EFFECTS``, in that order, constant at its identity."""
    fields = {
        effect.name: (_param(soft=effect.soft, **effect.bounds),
                      Field(default_factory=partial(_c, effect.identity), description=effect.description))
        for effect in EFFECTS
    }
    doc = "Sensor effects on the RGB image after rendering (labels untouched). Defaults: none."
    return create_model("EffectsConfig", __base__=_Model, __doc__=doc, __module__=__name__, **fields)


EffectsConfig = _effects_config()


class AnnotateConfig(_Model):
    """Which labels are measured, and when an object is too hidden to count."""

    amodal: bool = Field(True, description="full silhouettes: amodal masks/boxes, visibility, truncation")
    min_visibility: float = Field(0.0, ge=0, le=1, description="below: flagged ignore/iscrowd, left out of YOLO")
    min_visible_pixels: int = Field(
        1, ge=1, le=MAX_PIXELS, description="below: flagged ignore/iscrowd, left out of YOLO; 1..1e9"
    )
    keypoint_occlusion_tolerance_m: float = Field(
        0.01, ge=0, le=MAX_DISTANCE_M, description="a keypoint is hidden when a surface is this much nearer than it"
    )
    semantic_map: bool = Field(False, description="write semantic/ (uint16 PNG of category ids)")
    ray_distance_map: bool = Field(False, description="write ray_distance/ (uint16 PNG, camera-centre distance)")
    normals_map: bool = Field(False, description="write normals/ (16-bit RGB PNG, camera-frame surface normals)")


class ConstraintsConfig(_Model):
    """Conditions a frame must meet; a frame that misses them is resampled (deterministically:
    try k of frame i has streams of its own), at most ``max_tries`` times, then fails naming them."""

    min_visible_objects: int = Field(
        0, ge=0, le=MAX_OBJECTS, description="labelled objects with at least one visible pixel, 0..1000"
    )
    min_visibility: float = Field(0.0, ge=0, le=1, description="every visible object at least this visible")
    min_object_pixels: int = Field(
        0, ge=0, le=MAX_PIXELS, description="every visible object at least this many pixels, 0..1e9"
    )
    max_object_pixels: int | None = Field(
        None, ge=1, le=MAX_PIXELS, description="every visible object at most this many pixels, 1..1e9"
    )
    min_occluded_objects: int = Field(
        0, ge=0, le=MAX_OBJECTS, description="objects with visibility below occluded_below, 0..1000"
    )
    occluded_below: float = Field(0.9, gt=0, le=1)
    max_tries: int = Field(50, ge=1, le=1000, description="1..1000")

    @property
    def active(self) -> bool:
        return self != ConstraintsConfig(max_tries=self.max_tries, occluded_below=self.occluded_below)


class RenderConfig(_Model):
    """How frames are rasterised (labels are one sample per pixel centre either way)."""

    antialias: bool = Field(True, description="4x multisampled colour; off renders about twice as fast on a CPU")
    shadows: bool = Field(False, description="shadows of directional and spot lights (shadow maps)")


class OutputConfig(_Model):
    """How frames are written."""

    formats: tuple[Literal["coco", "yolo", "bop", "mot"], ...] = Field(
        ("coco",), description="label formats written after the frames (all from the frame records); "
        "mot: MOT-Challenge gt.txt per sequence"
    )
    coco_segmentation: Literal["rle", "polygon"] = "rle"
    yolo_task: Literal["detect", "segment"] = "segment"
    yolo_val_fraction: float = Field(
        0.1, ge=0, le=1, description="share of frames in the YOLO val split, [0, 1]; a frame's split is fixed by "
        "a hash of its index")
    image_format: Literal["png", "jpg"] = "jpg"
    jpeg_quality: int = Field(95, ge=1, le=100)
    depth_scale_m: float = Field(0.001, gt=0, le=1, description="metres per unit of the uint16 depth PNG, (0, 1]")


CAMERA_MOTIONS = ("static", "orbit", "linear", "random_walk", "shake")
OBJECT_MOTIONS = ("static", "constant", "physics")
MAX_FRAMES_PER_SEQUENCE = 100_000


class MotionBlurConfig(_Model):
    """Motion blur from the sequence's motion: the colour image averages ``samples`` colour passes
    spread over the open shutter, centred on the frame's time. Labels, depth and flow stay those
    of the frame's time. ``samples: 1`` (the default) turns it off."""

    samples: int = Field(1, ge=1, le=256, description="colour passes per frame, 1 = off; 2..256")
    shutter: float = Field(0.5, gt=0, le=1, description="open shutter, as a fraction of the frame interval, (0, 1]")


class SequenceConfig(_Model):
    """Sequences: dataset frame i is frame t = i % frames_per_sequence of sequence s = i // frames_per_sequence.

    Off (one frame per scene) by default. Sequence s's scene is sampled once from the streams of
    (seed, s), its motion from streams of its own, and frame t moves it to time t / fps, so every
    frame is a pure function of (config, seed, s, t). Speeds are per second.
    """

    frames_per_sequence: int = Field(1, ge=1, le=MAX_FRAMES_PER_SEQUENCE, description="1 = off; 2..100000")
    fps: float = Field(24.0, gt=0, le=10_000, description="frames per second, (0, 10000]")
    camera_motion: Literal[CAMERA_MOTIONS] = Field(  # type: ignore[valid-type]
        "static", description="static | orbit (about the vertical through the viewed point) | linear "
        "(constant velocity, camera frame; dolly = z) | random_walk (smooth, sums of sines) | shake (hand-held)"
    )
    orbit_deg_per_s: Angle = Field(default_factory=lambda: _u(-30, 30), description="orbit: within ±3600")
    camera_velocity_m_per_s: Vec3 = Field(
        default_factory=lambda: (_c(0.0), _c(0.0), _u(-0.3, 0.3)),
        description="linear: x right, y down, z forward of the first frame's camera; each within ±10 km",
    )
    walk_amplitude_m: _param(ge=0, le=MAX_DISTANCE_M) = Field(
        default_factory=lambda: _c(0.05), description="random_walk: translation amplitude per axis, 0..10 km")
    walk_amplitude_deg: _param(ge=0, le=180) = Field(
        default_factory=lambda: _c(3.0), description="random_walk: rotation amplitude per axis, 0..180")
    walk_frequency_hz: _param(ge=0, le=1000) = Field(
        default_factory=lambda: _u(0.1, 0.5), description="random_walk: frequency of each sine, 0..1000")
    shake_amplitude_m: _param(ge=0, le=MAX_DISTANCE_M) = Field(
        default_factory=lambda: _c(0.002), description="shake: translation amplitude per axis, 0..10 km")
    shake_amplitude_deg: _param(ge=0, le=180) = Field(
        default_factory=lambda: _c(0.4), description="shake: rotation amplitude per axis, 0..180")
    shake_frequency_hz: _param(ge=0, le=1000) = Field(
        default_factory=lambda: _u(2.0, 8.0), description="shake: frequency of each sine, 0..1000")
    object_motion: Literal[OBJECT_MOTIONS] = Field(  # type: ignore[valid-type]
        "static", description="static | constant (linear and angular velocity drawn per object; the floor stays) | "
        "physics (thrown: those velocities start a PyBullet simulation with gravity, collisions, the ground "
        "and the bin; objects.physics gives masses and friction; needs placement tabletop or physics)"
    )
    object_velocity_m_per_s: Vec3 = Field(
        default_factory=lambda: (_u(-0.2, 0.2), _u(-0.2, 0.2), _u(-0.2, 0.2)),
        description="constant: world frame, each within ±10 km",
    )
    object_angular_speed_deg_per_s: _param(ge=0, le=MAX_ANGLE_DEG * 100) = Field(
        default_factory=lambda: _u(0, 90), description="constant: about a uniformly random axis, 0..360000"
    )
    flow: bool = Field(False, description="write forward and backward optical flow (.flo, KITTI PNG, masks)")
    scene_flow: bool = Field(False, description="also write 3-D scene flow (.npy, camera frame, metres); needs flow")
    occlusion_tolerance_m: float = Field(
        0.01, ge=0, le=MAX_DISTANCE_M, description="a point is occluded at the other frame when another "
        "object's surface is this much nearer there"
    )
    motion_blur: MotionBlurConfig = Field(default_factory=MotionBlurConfig)

    @property
    def enabled(self) -> bool:
        return self.frames_per_sequence > 1

    @model_serializer(mode="wrap")
    def _omit_motion_blur_when_off(self, handler: Any) -> Any:
        # Sequences without motion blur print and save exactly as before it existed.
        data = handler(self)
        if self.motion_blur == MotionBlurConfig() and isinstance(data, dict):
            data.pop("motion_blur", None)
        return data

    @model_validator(mode="after")
    def _off_means_default(self) -> "SequenceConfig":
        if not self.enabled and self != SequenceConfig.model_construct():
            raise ValueError("sequence settings need sequence.frames_per_sequence > 1 (1 turns sequences off)")
        if self.scene_flow and not self.flow:
            raise ValueError("sequence.scene_flow needs sequence.flow: true")
        return self


Fraction = Annotated[NonNegativeFloat, Field(le=MAX_WEIGHT)]


class SplitConfig(_Model):
    """Train/val/test pools: mesh files, texture images and background photos are assigned to a
    split by a hash of their file name; ``use`` keeps only one split's files (primitives and
    procedural textures are shared by all splits). Category ids stay those of the full catalog."""

    use: Literal["train", "val", "test"] | None = None
    fractions: tuple[Fraction, Fraction, Fraction] = Field(
        (0.8, 0.1, 0.1), description="relative sizes of train, val, test; each 0..1e6, sum > 0"
    )

    @model_validator(mode="after")
    def _some_fraction(self) -> "SplitConfig":
        if sum(self.fractions) <= 0:
            raise ValueError(f"split.fractions needs a positive sum, got {list(self.fractions)}")
        return self


class DatasetConfig(_Model):
    """Everything that decides a dataset, except the seed and the frame count."""

    image: ImageConfig = Field(default_factory=ImageConfig)
    objects: ObjectsConfig = Field(default_factory=ObjectsConfig)
    distractors: DistractorsConfig = Field(default_factory=DistractorsConfig)
    material: MaterialConfig = Field(default_factory=MaterialConfig)
    lights: LightsConfig = Field(default_factory=LightsConfig)
    camera: CameraConfig = Field(default_factory=CameraConfig)
    background: BackgroundConfig = Field(default_factory=BackgroundConfig)
    effects: EffectsConfig = Field(default_factory=EffectsConfig)
    annotate: AnnotateConfig = Field(default_factory=AnnotateConfig)
    constraints: ConstraintsConfig = Field(default_factory=ConstraintsConfig)
    render: RenderConfig = Field(default_factory=RenderConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    sequence: SequenceConfig = Field(default_factory=SequenceConfig)

    @model_validator(mode="before")
    @classmethod
    def _physics_motion_defaults(cls, data: Any) -> Any:
        # Thrown objects are simulated with objects.physics: the resolved config spells it out.
        if isinstance(data, dict) and isinstance(data.get("sequence"), dict) \
                and data["sequence"].get("object_motion") == "physics":
            objects = data.get("objects") if isinstance(data.get("objects"), dict) else {}
            if objects.get("physics") is None:
                data = {**data, "objects": {**objects, "physics": {}}}
        return data

    @model_validator(mode="after")
    def _physics_motion_starts_apart(self) -> "DatasetConfig":
        if self.sequence.object_motion == "physics" and self.objects.placement not in ("tabletop", "physics"):
            raise ValueError(
                f"sequence.object_motion 'physics' needs objects.placement 'tabletop' or 'physics' (objects that "
                f"start apart, on or above the ground z = 0), got '{self.objects.placement}'"
            )
        return self

    @model_validator(mode="after")
    def _thrown_objects_without_a_mesh_container(self) -> "DatasetConfig":
        # Thrown objects collide with the scene's box bins only (sampling.physics.throw); a mesh container
        # would be taken for a moving object there.
        physics = self.objects.physics
        if (self.sequence.object_motion == "physics" and self.objects.placement == "physics" and physics is not None
                and physics.container.enabled and physics.container.mesh is not None):
            raise ValueError(
                f"objects.physics.container.mesh ({physics.container.mesh}) cannot be used with sequence.object_motion "
                "'physics' yet: use the box bin (leave out container.mesh) or object_motion 'constant' or 'static'"
            )
        return self

    @model_serializer(mode="wrap")
    def _sequence_only_when_on(self, handler) -> dict:
        # Sequences are off by default; leaving the default block out keeps every existing
        # config file, config hash and show-config output as it was.
        data = handler(self)
        if not self.sequence.enabled:
            data.pop("sequence", None)
        return data

    @model_validator(mode="after")
    def _sequences_without_constraints(self) -> "DatasetConfig":
        if self.sequence.enabled and self.constraints.active:
            raise ValueError("frame constraints resample single frames and cannot be used with sequences "
                             "(sequence.frames_per_sequence > 1): remove the constraints section")
        return self

    @model_validator(mode="after")
    def _floor_photos_need_a_folder(self) -> "DatasetConfig":
        if "image" in self.background.floor_textures and self.material.texture_folder is None:
            raise ValueError("background.floor_textures holds 'image', so material.texture_folder must name a "
                             "folder of images (the floor's photos come from the texture pool)")
        return self

    @model_validator(mode="after")
    def _constraints_need_amodal(self) -> "DatasetConfig":
        c = self.constraints
        if (c.min_visibility > 0 or c.min_occluded_objects > 0) and not self.annotate.amodal:
            raise ValueError("constraints on visibility need annotate.amodal: true")
        return self

    @model_validator(mode="after")
    def _depth_fits_uint16(self) -> "DatasetConfig":
        limit = 65535 * self.output.depth_scale_m
        if self.camera.zfar_m > limit:
            raise ValueError(
                f"camera.zfar_m ({self.camera.zfar_m:g} m) must be <= 65535 * output.depth_scale_m "
                f"({limit:g} m), or visible depth beyond {limit:g} m could not be stored in the uint16 PNG"
            )
        return self

    def to_dict(self) -> dict:
        """The fully resolved config as plain JSON/YAML data (round-trips through load_config)."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _all_field_names(model: type[BaseModel], seen: set | None = None) -> set[str]:
    seen = set() if seen is None else seen
    names = set(model.model_fields)
    for field in model.model_fields.values():
        for sub in _nested_models(field.annotation):
            if sub not in seen:
                seen.add(sub)
                names |= _all_field_names(sub, seen)
    return names


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out = []
    for arg in getattr(annotation, "__args__", ()) or ():
        out += _nested_models(arg)
    return out


def _set_override(data: dict, assignment: str) -> None:
    if "=" not in assignment:
        raise ConfigError(f"--set needs key=value, got {assignment!r}")
    key, raw = assignment.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: value {raw!r} is not valid YAML ({exc})") from None
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def load_config(
    source: str | os.PathLike | dict | DatasetConfig | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> DatasetConfig:
    """Builds a validated DatasetConfig.

    Args:
        source: a YAML file path, a dict, a DatasetConfig, or None for the built-in default.
        overrides: ``"section.key=value"`` strings (value parsed as YAML), applied on top.

    Returns:
        The validated config. Relative mesh paths in a YAML file are resolved against its folder.

    Raises:
        ConfigError: naming the file, the field, the rule and the value.
    """
    name = "config"
    base_dir = Path.cwd()
    if source is None:
        data: dict = {}
    elif isinstance(source, DatasetConfig):
        data = source.to_dict()
    elif isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        name = str(path)
        base_dir = path.parent.resolve()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            data = yaml.safe_load(_read_utf8(path)) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    data = _resolve_asset_paths(yaml.safe_load(yaml.safe_dump(data)) if data else {}, base_dir)
    for assignment in overrides:
        _set_override(data, assignment)
    try:
        return DatasetConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, name, _all_field_names(DatasetConfig))) from None


def _read_utf8(path: Path) -> str:
    """The text of a config file, which must be UTF-8 (YAML's own encoding), whatever the locale."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} ({exc.reason}); "
            "save the file as UTF-8"
        ) from None


def _resolve_asset_paths(data: dict, base_dir: Path) -> dict:
    assets = (data.get("objects") or {}).get("assets") if isinstance(data.get("objects"), dict) else None
    if isinstance(assets, list):
        for entry in assets:
            if isinstance(entry, dict):
                for key in ("mesh", "folder"):
                    if isinstance(entry.get(key), str):
                        entry[key] = str((base_dir / entry[key]).resolve())
    physics = data["objects"].get("physics") if isinstance(data.get("objects"), dict) else None
    container = physics.get("container") if isinstance(physics, dict) else None
    if isinstance(container, dict) and isinstance(container.get("mesh"), str):
        container["mesh"] = str((base_dir / container["mesh"]).resolve())
    for section, key in (("background", "image_folder"), ("material", "texture_folder")):
        block = data.get(section)
        if isinstance(block, dict) and isinstance(block.get(key), str):
            block[key] = str((base_dir / block[key]).resolve())
    return data
