"""SceneSpec: the plain, JSON-serialisable description of exactly what one frame renders.

Sampling produces it, a fixed-scene file provides it by hand, and every generated frame writes it
back (``frames/*.json``), so replaying a frame and rendering a hand-made scene are one path.

Conventions: poses are 4x4 rigid transforms in metres; cameras use the OpenCV frame (x right,
y down, z forward) and OpenCV intrinsics (pixel centres at integer coordinates).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vizsynth.errors import SceneError, format_validation_error


def asset_key(*, primitive: str | None, mesh: str | None) -> str:
    """The name of a geometry: a primitive's name or a mesh file's path."""
    return f"primitive:{primitive}" if primitive else f"mesh:{mesh}"


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera.

    Attributes:
        K: (3, 3) float64 intrinsics in pixels, OpenCV convention.
        width, height: image size in pixels.
        world_to_cam: (4, 4) float64 rigid transform, world metres -> OpenCV camera frame.
        znear_m, zfar_m: clipping planes in metres.
    """

    K: np.ndarray
    width: int
    height: int
    world_to_cam: np.ndarray
    znear_m: float = 0.01
    zfar_m: float = 50.0


@dataclass(frozen=True)
class MaterialSpec:
    """A metallic-roughness material; colours linear RGB in [0, 1].

    ``texture``: a procedural texture dict (vizsynth.textures) replacing the base colour, or None.
    """

    base_color: tuple[float, float, float]
    metallic: float
    roughness: float
    texture: dict | None = None


@dataclass(frozen=True)
class ObjectSpec:
    """One object instance.

    Attributes:
        instance_id: unique in the frame, >= 1 (0 is background); the value in the instance map.
        category: category name.
        primitive: built-in primitive name, or None when ``mesh`` is set.
        mesh: absolute path of a mesh file, or None for a primitive.
        mesh_scale: metres per mesh unit (vertices * mesh_scale are metres in the object frame).
        obj_to_world: (4, 4) float64 rigid transform, object frame -> world, metres.
        material: the material, or None to keep the asset's own appearance.
        distractor: an unlabelled occluder: rendered (its id is in the instance map), never annotated.
    """

    instance_id: int
    category: str
    primitive: str | None
    mesh: str | None
    mesh_scale: float
    obj_to_world: np.ndarray
    material: MaterialSpec | None = None
    distractor: bool = False

    @property
    def asset_key(self) -> str:
        """Names the geometry: objects with equal keys share one uploaded mesh."""
        return asset_key(primitive=self.primitive, mesh=self.mesh)


@dataclass(frozen=True)
class LightSpec:
    """A light. ``direction`` is the unit vector the light shines along (world frame)."""

    type: Literal["point", "directional", "spot"]
    color: tuple[float, float, float]
    intensity: float
    position_m: tuple[float, float, float]
    direction: tuple[float, float, float]
    spot_cone_deg: float = 30.0


@dataclass(frozen=True)
class SceneSpec:
    """Everything the renderer needs for one frame, and nothing it has to decide."""

    camera: CameraSpec
    objects: tuple[ObjectSpec, ...]
    lights: tuple[LightSpec, ...]
    background_rgb: tuple[float, float, float] = (0.5, 0.5, 0.5)
    ambient_rgb: tuple[float, float, float] = (0.3, 0.3, 0.3)
    effects: dict = field(default_factory=dict)  # sampled sensor effects (vizsynth.effects), {} = none
    # What is seen behind the objects: {"kind": "solid"} (background_rgb), {"kind": "procedural",
    # "texture": {...}} or {"kind": "image", "path": ..., "crop": [x, y, w, h] as image fractions, "flip": bool}.
    background: dict = field(default_factory=lambda: {"kind": "solid"})

    def obj_to_cam(self, obj: ObjectSpec) -> np.ndarray:
        """(4, 4) float64 pose of ``obj`` in the OpenCV camera frame, metres."""
        return self.camera.world_to_cam @ obj.obj_to_world


# --- JSON schema (what a scene file may contain) -------------------------------------------------


# pyrender's shaders take at most this many lights of each type (pyrender.constants.MAX_N_LIGHTS).
MAX_LIGHTS_PER_TYPE = 4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _matrix(value: Any, shape: tuple[int, int], name: str) -> list:
    array = np.asarray(value, dtype=float) if _is_numeric_nested(value) else None
    if array is None or array.shape != shape or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a {shape[0]}x{shape[1]} list of finite numbers, got {value!r}")
    if shape == (4, 4):
        if not np.allclose(array[3], [0, 0, 0, 1]):
            raise ValueError(f"{name} must have last row [0, 0, 0, 1], got {array[3].tolist()}")
        rotation = array[:3, :3]
        error = np.abs(rotation.T @ rotation - np.eye(3)).max()
        if error > 1e-4 or np.linalg.det(rotation) < 0:
            raise ValueError(
                f"{name} must be rigid (orthonormal rotation, det +1, no scale: use mesh_scale); "
                f"|R^T R - I| = {error:.2g}, det = {np.linalg.det(rotation):.4g}"
            )
    return array.tolist()


def _is_numeric_nested(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_numeric_nested(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Camera(_Strict):
    K: list
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    world_to_cam: list = Field(default_factory=lambda: np.eye(4).tolist())
    znear_m: float = Field(0.01, gt=0)
    zfar_m: float = Field(50.0, gt=0)

    @field_validator("K")
    @classmethod
    def _k(cls, v: Any) -> list:
        k = _matrix(v, (3, 3), "K")
        if k[0][0] <= 0 or k[1][1] <= 0 or k[2] != [0, 0, 1] or k[1][0] != 0 or k[0][1] != 0:
            raise ValueError(
                f"K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0 (no skew: the renderer's "
                f"pinhole has none), got {k}"
            )
        return k

    @field_validator("world_to_cam")
    @classmethod
    def _pose(cls, v: Any) -> list:
        return _matrix(v, (4, 4), "world_to_cam")


class _Texture(_Strict):
    kind: Literal["noise", "checker", "stripes", "gradient", "blocks", "image"]
    colors: tuple[tuple[float, float, float], tuple[float, float, float]] = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    cells: int = Field(4, ge=1)
    angle_deg: float = 0.0
    seed: int = Field(0, ge=0)
    path: str | None = None

    @model_validator(mode="after")
    def _image_path(self) -> "_Texture":
        if self.kind == "image" and self.path is None:
            raise ValueError("an image texture needs a 'path'")
        return self


class _Material(_Strict):
    base_color: tuple[float, float, float]
    metallic: float = Field(ge=0, le=1)
    roughness: float = Field(ge=0, le=1)
    texture: _Texture | None = None


class _Effects(_Strict):
    """Sensor effects; omitted ones do nothing."""

    blur_sigma_px: float = Field(0.0, ge=0)
    motion_blur_px: float = Field(0.0, ge=0)
    motion_blur_angle_deg: float = 0.0
    vignetting: float = Field(0.0, ge=0, le=1)
    brightness: float = Field(0.0, ge=-1, le=1)
    contrast: float = Field(1.0, ge=0)
    saturation: float = Field(1.0, ge=0)
    hue_shift_deg: float = 0.0
    gamma: float = Field(1.0, gt=0)
    noise_std: float = Field(0.0, ge=0)
    poisson_photons: float = Field(0.0, ge=0)
    jpeg_quality: float = Field(100.0, ge=1, le=100)
    noise_seed: int = Field(0, ge=0)


class _Background(_Strict):
    kind: Literal["solid", "procedural", "image"] = "solid"
    texture: _Texture | None = None
    path: str | None = None
    crop: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    flip: bool = False

    @model_validator(mode="after")
    def _needs(self) -> "_Background":
        if self.kind == "procedural" and self.texture is None:
            raise ValueError("a procedural background needs a 'texture'")
        if self.kind == "image" and self.path is None:
            raise ValueError("an image background needs a 'path'")
        return self


class _Object(_Strict):
    category: str
    mesh: str | None = None
    primitive: str | None = None
    mesh_scale: float = Field(1.0, gt=0)
    obj_to_world: list
    instance_id: int | None = Field(None, ge=1, le=65535)
    material: _Material | None = None
    distractor: bool = False

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if not v.strip():
            raise ValueError(f"a category name must not be empty or blank, got {v!r}")
        return v

    @field_validator("obj_to_world")
    @classmethod
    def _pose(cls, v: Any) -> list:
        return _matrix(v, (4, 4), "obj_to_world")


class _Light(_Strict):
    type: Literal["point", "directional", "spot"]
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = Field(ge=0)
    position_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    spot_cone_deg: float = Field(30.0, gt=0, le=90)


class _Scene(_Strict):
    camera: _Camera
    objects: list[_Object]
    lights: list[_Light] | None = None
    background_rgb: tuple[float, float, float] = (0.5, 0.5, 0.5)
    ambient_rgb: tuple[float, float, float] = (0.3, 0.3, 0.3)
    effects: _Effects | None = None
    background: _Background = Field(default_factory=_Background)
    # Free-form block that frame records carry (seed, index, annotations); ignored when rendering.
    record: dict = Field(default_factory=dict)

    @field_validator("lights")
    @classmethod
    def _light_counts(cls, v: list | None) -> list | None:
        for kind in ("point", "directional", "spot"):
            n = sum(light.type == kind for light in v or [])
            if n > MAX_LIGHTS_PER_TYPE:
                raise ValueError(f"at most {MAX_LIGHTS_PER_TYPE} {kind} lights (the renderer's limit), got {n}")
        return v


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
        data: the parsed JSON.
        base_dir: folder that relative mesh paths are relative to.
        source: name used in error messages (usually the file path).

    Raises:
        SceneError: naming the source, the field, the rule and the value.
    """
    try:
        parsed = _Scene.model_validate(data)
    except ValidationError as exc:
        names = {n for model in (_Scene, _Camera, _Object, _Light, _Material) for n in model.model_fields}
        raise SceneError(format_validation_error(exc, source, names)) from None
    camera = CameraSpec(
        K=np.array(parsed.camera.K, dtype=np.float64),
        width=parsed.camera.width,
        height=parsed.camera.height,
        world_to_cam=np.array(parsed.camera.world_to_cam, dtype=np.float64),
        znear_m=parsed.camera.znear_m,
        zfar_m=parsed.camera.zfar_m,
    )
    if camera.znear_m >= camera.zfar_m:
        raise SceneError(f"{source}: field 'camera': needs znear_m < zfar_m, got {camera.znear_m} >= {camera.zfar_m}")
    objects = []
    explicit_ids = [o.instance_id for o in parsed.objects if o.instance_id is not None]
    if len(set(explicit_ids)) != len(explicit_ids):
        raise SceneError(f"{source}: field 'objects': instance_id values must be unique, got {explicit_ids}")
    if explicit_ids and len(explicit_ids) != len(parsed.objects):
        raise SceneError(f"{source}: field 'objects': give instance_id for every object or for none")
    for i, obj in enumerate(parsed.objects):
        if (obj.mesh is None) == (obj.primitive is None):
            raise SceneError(f"{source}: field 'objects.{i}': needs exactly one of 'mesh' or 'primitive'")
        mesh = None if obj.mesh is None else str((Path(base_dir) / obj.mesh).resolve())
        material = None
        if obj.material is not None:
            texture = None if obj.material.texture is None else obj.material.texture.model_dump(exclude_none=True)
            material = MaterialSpec(tuple(obj.material.base_color), obj.material.metallic, obj.material.roughness,
                                    texture)
        objects.append(ObjectSpec(
            instance_id=obj.instance_id if obj.instance_id is not None else i + 1,
            category=obj.category, primitive=obj.primitive, mesh=mesh, mesh_scale=obj.mesh_scale,
            obj_to_world=np.array(obj.obj_to_world, dtype=np.float64), material=material,
            distractor=obj.distractor,
        ))
    if parsed.lights is None:
        lights = (_headlight(camera.world_to_cam),)
    else:
        lights = tuple(
            LightSpec(light.type, tuple(light.color), light.intensity, tuple(light.position_m),
                      tuple(light.direction), light.spot_cone_deg)
            for light in parsed.lights
        )
    raw_effects = data.get("effects") or {}
    effects = {}
    if raw_effects:  # recorded keys first, in their order (a replayed record is written back byte-identical)
        full = parsed.effects.model_dump()
        effects = {k: full[k] for k in raw_effects} | {k: v for k, v in full.items() if k not in raw_effects}
    background = parsed.background.model_dump(exclude_none=True)
    if background["kind"] != "image":
        background = {k: v for k, v in background.items() if k not in ("crop", "flip")}
    if data.get("background") is None or data["background"].get("kind", "solid") == "solid":
        background = {"kind": "solid"}
    elif isinstance(data.get("background"), dict):
        background = {k: background[k] for k in data["background"]}  # keep exactly the recorded keys
    return SceneSpec(camera, tuple(objects), lights, tuple(parsed.background_rgb), tuple(parsed.ambient_rgb),
                     effects, background)


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

    def mesh_path(path: str) -> str:
        return path if base_dir is None else os.path.relpath(path, base_dir)

    def obj_dict(o: ObjectSpec) -> dict:
        out: dict[str, Any] = {"instance_id": o.instance_id, "category": o.category}
        out["primitive" if o.primitive else "mesh"] = o.primitive or mesh_path(o.mesh)
        out["mesh_scale"] = o.mesh_scale
        out["obj_to_world"] = o.obj_to_world.tolist()
        if o.distractor:
            out["distractor"] = True
        if o.material is not None:
            out["material"] = {
                "base_color": list(o.material.base_color),
                "metallic": o.material.metallic,
                "roughness": o.material.roughness,
            }
            if o.material.texture is not None:
                out["material"]["texture"] = o.material.texture
        return out

    c = scene.camera
    return {
        "camera": {
            "K": c.K.tolist(), "width": c.width, "height": c.height,
            "world_to_cam": c.world_to_cam.tolist(), "znear_m": c.znear_m, "zfar_m": c.zfar_m,
        },
        "objects": [obj_dict(o) for o in scene.objects],
        "lights": [
            {"type": light.type, "color": list(light.color), "intensity": light.intensity,
             "position_m": list(light.position_m), "direction": list(light.direction),
             "spot_cone_deg": light.spot_cone_deg}
            for light in scene.lights
        ],
        "background_rgb": list(scene.background_rgb),
        "ambient_rgb": list(scene.ambient_rgb),
        "effects": dict(scene.effects),
        "background": dict(scene.background),
    }
