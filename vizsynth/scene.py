"""SceneSpec: the plain, JSON-serialisable description of exactly what one frame renders.

Sampling produces it, a fixed-scene file provides it by hand, and every generated frame writes it
back (``frames/*.json``), so replaying a frame and rendering a hand-made scene are one path.

Conventions: poses are 4x4 rigid transforms in metres; cameras use the OpenCV frame (x right,
y down, z forward) and OpenCV intrinsics (pixel centres at integer coordinates).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WrapSerializer,
    field_validator,
    model_serializer,
    model_validator,
)

from vizsynth.appearance.backgrounds import Background
from vizsynth.appearance.effects import Effects
from vizsynth.appearance.textures import Texture
from vizsynth.errors import SceneError, format_validation_error

LIGHT_TYPES = ("point", "directional", "spot")
# pyrender's shaders take at most this many lights of each type (pyrender.constants.MAX_N_LIGHTS).
MAX_LIGHTS_PER_TYPE = 4
# A pose's rotation R is taken as given when |R^T R - I| <= RIGID_TOLERANCE. Up to
# PROJECTION_TOLERANCE (and |det R - 1| within it) it is replaced by the nearest rotation and the
# object (or camera) is flagged ``rotation_projected``: poses from real datasets are stored with
# rounding errors of ~1e-3. Beyond, it is refused.
RIGID_TOLERANCE = 1e-4
PROJECTION_TOLERANCE = 1e-2

# The dataclasses below are built directly in Python (sampling, tests: no validation) and are
# validated from JSON by pydantic (scene files, frame records): extra keys are errors.
_FORBID = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
Vec3 = tuple[float, float, float]


def asset_key(*, primitive: str | None, mesh: str | None) -> str:
    """The name of a geometry: a primitive's name or a mesh file's path."""
    return f"primitive:{primitive}" if primitive else f"mesh:{mesh}"


def _is_numeric_nested(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_numeric_nested(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _array(value: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64) if _is_numeric_nested(value) else None
    if array is None or array.shape != shape or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a {shape[0]}x{shape[1]} list of finite numbers, got {value!r}")
    return array


def _intrinsics(value: Any) -> np.ndarray:
    k = _array(value, (3, 3), "K")
    if k[0, 0] <= 0 or k[1, 1] <= 0 or k[2].tolist() != [0, 0, 1] or k[1, 0] != 0 or k[0, 1] != 0:
        raise ValueError(
            f"K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0 (no skew: the renderer's "
            f"pinhole has none), got {k.tolist()}"
        )
    return k


_EYE3 = np.eye(3)
_LAST_ROW = np.array([0.0, 0.0, 0.0, 1.0])
# np.allclose's default tolerances, written out: every frame record's poses are checked when
# labels are merged, and np.allclose costs more than the rest of the check together.
_LAST_ROW_TOLERANCE = 1e-8 + 1e-5 * np.abs(_LAST_ROW)


def rotation_error(pose: np.ndarray) -> float:
    """|R^T R - I| (largest entry) of a (4, 4) pose's rotation R."""
    rotation = pose[:3, :3]
    return float(np.abs(rotation.T @ rotation - _EYE3).max())


def _pose(value: Any, info: ValidationInfo) -> np.ndarray:
    """A (4, 4) pose whose rotation is within PROJECTION_TOLERANCE of a rotation."""
    name = info.field_name
    array = _array(value, (4, 4), name)
    if not (np.abs(array[3] - _LAST_ROW) <= _LAST_ROW_TOLERANCE).all():
        raise ValueError(f"{name} must have last row [0, 0, 0, 1], got {array[3].tolist()}")
    error, det = rotation_error(array), np.linalg.det(array[:3, :3])
    if error > PROJECTION_TOLERANCE or abs(det - 1) > PROJECTION_TOLERANCE:
        raise ValueError(
            f"{name} must be rigid (orthonormal rotation, det +1, no scale: use mesh_scale); "
            f"|R^T R - I| = {error:.2g}, det = {det:.4g}"
        )
    return array


def nearest_rigid(pose: np.ndarray) -> np.ndarray:
    """(4, 4) ``pose`` with its rotation replaced by the nearest rotation (SVD, det +1)."""
    u, _, vt = np.linalg.svd(pose[:3, :3])
    if np.linalg.det(u @ vt) < 0:
        u[:, -1] *= -1
    out = pose.copy()
    out[:3, :3] = u @ vt
    return out


def _tolist(array: np.ndarray) -> list:
    return array.tolist()


Intrinsics = Annotated[np.ndarray, BeforeValidator(_intrinsics), PlainSerializer(_tolist)]
Pose = Annotated[np.ndarray, BeforeValidator(_pose), PlainSerializer(_tolist)]
Unit = Annotated[float, Field(ge=0, le=1)]


def _project_rotation(spec: Any, pose_field: str) -> Any:
    """``spec`` with its pose made rigid and flagged, when the given rotation was only nearly one."""
    pose = getattr(spec, pose_field)
    if rotation_error(pose) <= RIGID_TOLERANCE:
        return spec
    return replace(spec, **{pose_field: nearest_rigid(pose)}, rotation_projected=True)


def _without_defaults(values: dict, **defaults: Any) -> dict:
    """``values`` less the keys that hold the given (default) values, which records leave out."""
    return {k: v for k, v in values.items() if k not in defaults or v != defaults[k]}


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera.

    Attributes:
        K: (3, 3) float64 intrinsics in pixels, OpenCV convention.
        width, height: image size in pixels.
        world_to_cam: (4, 4) float64 rigid transform, world metres -> OpenCV camera frame.
        znear_m, zfar_m: clipping planes in metres.
        rotation_projected: the given world_to_cam was only nearly rigid and was projected (see
            RIGID_TOLERANCE); recorded only when true.
    """

    __pydantic_config__ = _FORBID

    K: Intrinsics
    width: Annotated[int, Field(gt=0)]
    height: Annotated[int, Field(gt=0)]
    world_to_cam: Pose = field(default_factory=lambda: np.eye(4))
    znear_m: Annotated[float, Field(gt=0)] = 0.01
    zfar_m: Annotated[float, Field(gt=0)] = 50.0
    rotation_projected: bool = False

    @model_validator(mode="after")
    def _rigid(self) -> CameraSpec:
        return _project_rotation(self, "world_to_cam")

    @model_serializer(mode="wrap")
    def _record(self, handler) -> dict:
        return _without_defaults(handler(self), rotation_projected=False)


@dataclass(frozen=True)
class MaterialSpec:
    """A metallic-roughness material; colours linear RGB in [0, 1].

    ``texture``: a texture replacing the base colour, or None.
    """

    __pydantic_config__ = _FORBID

    base_color: Vec3
    metallic: Unit
    roughness: Unit
    texture: Texture | None = None

    @model_serializer(mode="wrap")
    def _record(self, handler) -> dict:
        return _without_defaults(handler(self), texture=None)


@dataclass(frozen=True)
class ObjectSpec:
    """One object instance.

    Attributes:
        instance_id: unique in the frame, >= 1 (0 is background); the value in the instance map.
        category: category name.
        primitive: built-in primitive name, or None when ``mesh`` is set.
        mesh: absolute path of a mesh file, or None for a primitive (in a scene file: relative to
            the file's folder; in a record: relative to the record's folder).
        mesh_scale: metres per mesh unit (vertices * mesh_scale are metres in the object frame).
        obj_to_world: (4, 4) float64 rigid transform, object frame -> world, metres.
        material: the material, or None to keep the asset's own appearance.
        distractor: an unlabelled occluder: rendered (its id is in the instance map), never annotated.
        rotation_projected: the given obj_to_world was only nearly rigid and was projected (see
            RIGID_TOLERANCE); recorded only when true.
    """

    __pydantic_config__ = _FORBID

    instance_id: Annotated[int, Field(ge=1, le=65535)]
    category: str
    primitive: str | None
    mesh: str | None
    mesh_scale: Annotated[float, Field(gt=0)]
    obj_to_world: Pose
    material: MaterialSpec | None = None
    distractor: bool = False
    rotation_projected: bool = False

    @property
    def asset_key(self) -> str:
        """Names the geometry: objects with equal keys share one uploaded mesh."""
        return asset_key(primitive=self.primitive, mesh=self.mesh)

    @model_validator(mode="before")
    @classmethod
    def _file_defaults(cls, data: Any) -> Any:
        # Scene files may leave these out; Python callers give them.
        return {"primitive": None, "mesh": None, "mesh_scale": 1.0, **data} if isinstance(data, dict) else data

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if not v.strip():
            raise ValueError(f"a category name must not be empty or blank, got {v!r}")
        return v

    @field_validator("mesh")
    @classmethod
    def _mesh_path(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else str((Path((info.context or {})["base_dir"]) / v).resolve())

    @model_validator(mode="after")
    def _rigid(self) -> ObjectSpec:
        return _project_rotation(self, "obj_to_world")

    @model_serializer(mode="wrap")
    def _record(self, handler, info) -> dict:
        values = _without_defaults(handler(self), primitive=None, mesh=None, distractor=False, material=None,
                                   rotation_projected=False)
        base_dir = (info.context or {}).get("base_dir")
        if "mesh" in values and base_dir is not None:
            values["mesh"] = os.path.relpath(values["mesh"], base_dir)
        order = ("instance_id", "category", "primitive", "mesh", "mesh_scale", "obj_to_world", "distractor")
        return {k: values[k] for k in order if k in values} | values


@dataclass(frozen=True)
class LightSpec:
    """A light. ``direction`` is the unit vector the light shines along (world frame)."""

    __pydantic_config__ = _FORBID

    type: Literal[LIGHT_TYPES]  # type: ignore[valid-type]
    color: Vec3
    intensity: Annotated[float, Field(ge=0)]
    position_m: Vec3
    direction: Vec3
    spot_cone_deg: Annotated[float, Field(gt=0, le=90)] = 30.0

    @model_validator(mode="before")
    @classmethod
    def _file_defaults(cls, data: Any) -> Any:
        # Scene files may leave these out; Python callers give them.
        defaults = {"color": (1.0, 1.0, 1.0), "position_m": (0.0, 0.0, 0.0), "direction": (0.0, 0.0, 1.0)}
        return {**defaults, **data} if isinstance(data, dict) else data


CAMERA_MOTION_KINDS = ("static", "orbit", "linear", "random_walk", "shake")


@dataclass(frozen=True)
class CameraMotionSpec:
    """How the camera moves over a sequence (what ``vizsynth.motion.scene_at`` applies).

    Attributes:
        kind: one of CAMERA_MOTION_KINDS.
        pivot_m: orbit: a point of the vertical (world z) axis the camera turns about.
        orbit_deg_per_s: orbit: turn rate about that axis (right-handed about +z).
        velocity_m_per_s: linear: constant velocity of the camera centre, world frame.
        wobble: random_walk / shake: sines added to the first frame's pose in its camera frame,
            rows (axis, amplitude, frequency_hz, phase_rad); axes 0-2 translate along x, y, z
            (amplitude in metres), axes 3-5 rotate about x, y, z (amplitude in degrees). Each
            sine is taken relative to its value at t = 0, so frame 0 keeps the sampled camera.
    """

    __pydantic_config__ = _FORBID

    kind: Literal[CAMERA_MOTION_KINDS]  # type: ignore[valid-type]
    pivot_m: Vec3 = (0.0, 0.0, 0.0)
    orbit_deg_per_s: float = 0.0
    velocity_m_per_s: Vec3 = (0.0, 0.0, 0.0)
    wobble: tuple[tuple[Annotated[int, Field(ge=0, le=5)], float, float, float], ...] = ()


@dataclass(frozen=True)
class ObjectMotionSpec:
    """Motion of one object. Constant motion: its origin moves at ``velocity_m_per_s`` and the object
    turns about its origin at ``angular_velocity_deg_per_s`` (axis * rate, world frame).

    Simulated motion (object_motion physics): ``trajectory`` holds the object's (4, 4) obj_to_world
    at the frames ``trajectory_start``, ``trajectory_start`` + 1, ... of its sequence, and the
    velocities are those it was thrown with (of its centre of mass) at t = 0, recorded for reference;
    the trajectory decides the poses. A sequence's first frame holds the whole simulated trajectory;
    a frame t (and so its record) holds only frames t-1..t+1 of it (clipped at the sequence's ends),
    all that flow (t +- 1) and motion blur (within half a frame of t) need, so records do not grow
    with the sequence's length (``vizsynth.motion.scene_at`` cuts the window). ``com_m`` is the
    object's centre of mass in its own frame (metres), what the simulation moves: between two
    trajectory frames it moves on a straight line while the object turns about it. Recorded only
    when the trajectory is not empty, with ``trajectory_start`` and ``com_m``.
    """

    __pydantic_config__ = _FORBID

    instance_id: Annotated[int, Field(ge=1, le=65535)]
    velocity_m_per_s: Vec3
    angular_velocity_deg_per_s: Vec3
    trajectory: tuple[Pose, ...] = ()
    trajectory_start: Annotated[int, Field(ge=0)] = 0
    com_m: Vec3 = (0.0, 0.0, 0.0)

    @model_serializer(mode="wrap")
    def _record(self, handler) -> dict:
        values = handler(self)
        if not values["trajectory"]:
            values = {k: v for k, v in values.items() if k not in ("trajectory", "trajectory_start", "com_m")}
        return values


@dataclass(frozen=True)
class MotionBlurSpec:
    """Motion blur from the sequence's own motion: the colour image is the mean of ``samples``
    colour passes at the instants t + shutter * ((k + 0.5) / samples - 0.5), k = 0..samples-1
    (frames; the shutter is open for ``shutter`` of a frame interval, centred on t). Labels, depth
    and flow are those of time t alone."""

    __pydantic_config__ = _FORBID

    samples: Annotated[int, Field(ge=2, le=256)]
    shutter: Annotated[float, Field(gt=0, le=1)]

    def offsets(self) -> tuple[float, ...]:
        """The sub-frame instants relative to t, in frames."""
        return tuple(self.shutter * ((k + 0.5) / self.samples - 0.5) for k in range(self.samples))


@dataclass(frozen=True)
class SequenceSpec:
    """Where a frame sits in its sequence and how the sequence moves.

    Attributes:
        sequence: sequence index s (dataset frame index = s * frames + t).
        t: frame within the sequence, 0..frames-1; its time is t / fps seconds.
        frames: frames in the sequence.
        fps: frames per second.
        camera: the camera's motion.
        objects: the moving objects' motion (objects not listed stay still); track id = instance id.
        motion_blur: the colour image's motion blur (``sequence.motion_blur``), None for none
            (then not recorded).
    """

    __pydantic_config__ = _FORBID

    sequence: Annotated[int, Field(ge=0)]
    t: Annotated[int, Field(ge=0)]
    frames: Annotated[int, Field(ge=1)]
    fps: Annotated[float, Field(gt=0)]
    camera: CameraMotionSpec
    objects: tuple[ObjectMotionSpec, ...] = ()
    motion_blur: MotionBlurSpec | None = None

    @model_validator(mode="after")
    def _trajectory_windows(self) -> SequenceSpec:
        for i, motion in enumerate(self.objects):
            start, end = motion.trajectory_start, motion.trajectory_start + len(motion.trajectory) - 1
            if motion.trajectory and not (start <= self.t <= end < self.frames):
                raise ValueError(
                    f"field 'objects.{i}.trajectory': a frame's trajectory must cover its frame t = {self.t} and lie "
                    f"within frames 0..{self.frames - 1}, got frames {start}..{end} (trajectory_start {start})"
                )
        return self

    @model_serializer(mode="wrap")
    def _record(self, handler) -> dict:
        # Sequences without motion blur are recorded as before it existed.
        return _without_defaults(handler(self), motion_blur=None)


def _none_when_empty(value: Any) -> Any:
    return value or None


def _empty_when_none(effects: Effects | None, handler) -> dict:
    return {} if effects is None else handler(effects)


def _light_counts(lights: tuple[LightSpec, ...]) -> tuple[LightSpec, ...]:
    for kind in LIGHT_TYPES:
        n = sum(light.type == kind for light in lights)
        if n > MAX_LIGHTS_PER_TYPE:
            raise ValueError(f"at most {MAX_LIGHTS_PER_TYPE} {kind} lights (the renderer's limit), got {n}")
    return lights


@dataclass(frozen=True)
class SceneSpec:
    """Everything the renderer needs for one frame, and nothing it has to decide.

    ``effects``: the sampled sensor effects, None for none (recorded as ``{}``).
    ``background``: what is seen behind the objects (solid: ``background_rgb``).
    ``sequence``: the frame's place in its sequence and the sequence's motion, None for a single
    frame (then not recorded).
    """

    __pydantic_config__ = _FORBID

    camera: CameraSpec
    objects: tuple[ObjectSpec, ...]
    lights: Annotated[tuple[LightSpec, ...], AfterValidator(_light_counts)]
    background_rgb: Vec3 = (0.5, 0.5, 0.5)
    ambient_rgb: Vec3 = (0.3, 0.3, 0.3)
    effects: Annotated[Effects | None, BeforeValidator(_none_when_empty), WrapSerializer(_empty_when_none)] = None
    background: Background = field(default_factory=Background)
    sequence: SequenceSpec | None = None

    def obj_to_cam(self, obj: ObjectSpec) -> np.ndarray:
        """(4, 4) float64 pose of ``obj`` in the OpenCV camera frame, metres."""
        return self.camera.world_to_cam @ obj.obj_to_world

    @model_validator(mode="before")
    @classmethod
    def _instance_ids(cls, data: Any) -> Any:
        """Numbers objects 1, 2, ... in a scene file that gives no instance ids."""
        objects = data.get("objects") if isinstance(data, dict) else None
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            return data
        given = [o["instance_id"] for o in objects if "instance_id" in o]
        if given and len(given) != len(objects):
            raise ValueError("field 'objects': give instance_id for every object or for none")
        if not given:
            data = {**data, "objects": [{"instance_id": i + 1, **o} for i, o in enumerate(objects)]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> SceneSpec:
        ids = [o.instance_id for o in self.objects]
        if len(set(ids)) != len(ids):
            raise ValueError(f"field 'objects': instance_id values must be unique, got {ids}")
        for i, obj in enumerate(self.objects):
            if (obj.mesh is None) == (obj.primitive is None):
                raise ValueError(f"field 'objects.{i}': needs exactly one of 'mesh' or 'primitive'")
        c = self.camera
        if c.znear_m >= c.zfar_m:
            raise ValueError(f"field 'camera': needs znear_m < zfar_m, got {c.znear_m} >= {c.zfar_m}")
        return self

    @model_serializer(mode="wrap")
    def _record(self, handler) -> dict:
        # A single frame has no sequence block: records of single frames stay as they were.
        return _without_defaults(handler(self), sequence=None)


_SCENE = TypeAdapter(SceneSpec)
_FIELD_NAMES = {f.name for spec in (SceneSpec, CameraSpec, ObjectSpec, LightSpec, MaterialSpec, SequenceSpec,
                                    CameraMotionSpec, ObjectMotionSpec, MotionBlurSpec) for f in fields(spec)}


def _headlight(world_to_cam: np.ndarray) -> LightSpec:
    """Default light for scenes that give none: a directional light shining along the view axis."""
    cam_to_world = np.linalg.inv(world_to_cam)
    return LightSpec(
        type="directional", color=(1.0, 1.0, 1.0), intensity=3.0,
        position_m=tuple(cam_to_world[:3, 3]), direction=tuple(cam_to_world[:3, 2]),
    )


def scene_from_dict(data: Any, base_dir: str | os.PathLike, source: str = "scene") -> SceneSpec:
    """Validates a scene dict (fixed-scene file or frame record) and builds the SceneSpec.

    Args:
        data: the parsed JSON. Its "lights" may be left out (a headlight is added); its "record"
            block (what frame records carry: seed, index, annotations) is ignored.
        base_dir: folder that relative mesh paths are relative to.
        source: name used in error messages (usually the file path).

    Raises:
        SceneError: naming the source, the field, the rule and the value.
    """
    if isinstance(data, dict) and "record" in data:
        if not isinstance(data["record"], dict):
            raise SceneError(f"{source}: field 'record': must be an object, got {data['record']!r}")
        data = {k: v for k, v in data.items() if k != "record"}
    headlight = isinstance(data, dict) and data.get("lights") is None
    if headlight:
        data = {**data, "lights": []}
    try:
        scene = _SCENE.validate_python(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise SceneError(format_validation_error(exc, source, _FIELD_NAMES)) from None
    return replace(scene, lights=(_headlight(scene.camera.world_to_cam),)) if headlight else scene


def load_scene(path: str | os.PathLike) -> SceneSpec:
    """Reads a fixed-scene JSON file or a frame record (``frames/*.json``)."""
    path = Path(path)
    if not path.is_file():
        raise SceneError(f"scene file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SceneError(f"{path}: not valid JSON: {exc}") from None
    return scene_from_dict(data, path.parent, source=str(path))


def scene_to_dict(scene: SceneSpec, base_dir: str | os.PathLike | None = None) -> dict:
    """The JSON form of a scene; mesh paths relative to ``base_dir`` when given.

    ``scene_from_dict(scene_to_dict(s, d), d)`` reproduces ``s`` exactly (floats round-trip).
    """
    return _SCENE.dump_python(scene, mode="json", context={"base_dir": base_dir})
