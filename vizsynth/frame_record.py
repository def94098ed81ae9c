"""FrameRecord: the typed form of a frame record (``frames/*.json``), the one owner of its schema.

A frame record is the frame's SceneSpec (its keys at the top level, as ``scene_to_dict`` writes
them) plus a ``record`` block: what was made of the scene (files, depth scale, one entry per
labelled object). The frame writer builds a FrameRecord and dumps it; every reader (label writers,
preview, validate, resume, replay) parses it back with ``parse_record`` and reads attributes.

The JSON form is a public contract and is pinned byte for byte (tests/test_golden_bytes.py): key
order, which keys are left out, and ints (ids, pixel counts, boxes, ``iscrowd``, ``ignore``) versus
floats are those the dataclasses below declare, in their field order.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from typing import Annotated, Any

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_serializer,
    model_validator,
)
from typing_extensions import TypedDict

from vizsynth.errors import RecordError, SceneError, format_validation_error
from vizsynth.maps import FLOW_RECORD_FILES, MAP_NAMES
from vizsynth.scene import SceneSpec, scene_from_dict, scene_to_dict

# Records are machine-written: a value of the wrong JSON type is damage, not a convenience to
# coerce (an area of 3.5 or "3" is refused, not rounded). Floats may be given as JSON integers.
_FORBID = ConfigDict(extra="forbid")
Box = Annotated[list[StrictInt], Field(min_length=4, max_length=4)]


def _rows(n: int, item: Any) -> Any:
    """A JSON list of exactly ``n`` items."""
    return Annotated[list[item], Field(min_length=n, max_length=n)]


Flag = Annotated[StrictInt, Field(ge=0, le=1)]
Count = Annotated[StrictInt, Field(ge=0)]


class Rle(TypedDict):
    """COCO compressed RLE as pycocotools reads it: ``size`` = [height, width]."""

    __pydantic_config__ = _FORBID  # type: ignore[misc]

    size: Annotated[list[StrictInt], Field(min_length=2, max_length=2)]
    counts: StrictStr


# The instance id's key in annotations.json. FiftyOne's COCO importer (extra_attrs=True, its
# default) stops on "instance_id", a name it reserves for Detection objects; the frame record
# keeps "instance_id". Every other per-annotation key vizsynth writes is checked against FiftyOne's
# reserved Detection names in tests/io/test_label_writers.py and, from FiftyOne itself, tests/io/test_clients.py.
COCO_INSTANCE_KEY = "vizsynth_instance_id"

@dataclass(frozen=True)
class ObjectRecord:
    """One labelled object of a frame, visible or not; the COCO, YOLO and BOP labels come from these.

    Attributes:
        instance_id: its value in the instance map (the scene object's instance_id).
        category, category_id: category name and 1-based dataset id.
        bbox: COCO [x, y, w, h] tight around the visible mask (w = x_max - x_min + 1), or None.
        area: visible pixel count (0: hidden or out of view).
        segmentation: COCO RLE of the visible mask, or None.
        iscrowd, ignore: 1 when the object is below the visibility thresholds, else 0.
        obj_to_cam: 4x4 pose in the OpenCV camera frame, metres.
        amodal_bbox, amodal_area, amodal_segmentation, silhouette_pixels: full-silhouette measures
            (see ObjectAnnotation), None where amodal labels are off or nothing of it is in view.
        visibility, truncation: fractions in [0, 1], None without amodal labels.
        box_extents_m: 2x3 [min, max] of its 3D box in its own frame, metres.
        box_2d: 9x2 projected box corners and centre, [None, None] behind the camera.
        box_in_image: 9 flags, which of those fall on an image pixel.
        keypoints: flat [u, v, flag, ...], flag 2 visible, 1 occluded, 0 outside.
    """

    __pydantic_config__ = _FORBID

    instance_id: Annotated[StrictInt, Field(ge=1, le=65535)]
    category: StrictStr
    category_id: Annotated[StrictInt, Field(ge=1)]
    bbox: Box | None
    area: Count
    segmentation: Rle | None
    iscrowd: Flag
    ignore: Flag
    obj_to_cam: _rows(4, _rows(4, StrictFloat))
    amodal_bbox: Box | None
    amodal_area: Count | None
    amodal_segmentation: Rle | None
    silhouette_pixels: Count | None
    visibility: StrictFloat | None
    truncation: StrictFloat | None
    box_extents_m: _rows(2, _rows(3, StrictFloat))
    box_2d: _rows(9, _rows(2, StrictFloat | None))
    box_in_image: _rows(9, StrictBool)
    keypoints: list[StrictFloat | None]


# The per-frame files every record names, as (record key, dataset folder).
IMAGE_FILES = (("image_file", "images"), ("depth_file", "depth"), ("instances_file", "instances"))
_ORDER = ("vizsynth_version", "seed", "tries", "scene_file", "index", *(k for k, _ in IMAGE_FILES))


@dataclass(frozen=True, kw_only=True)
class RecordInfo:
    """The ``record`` block: how the frame was made and what was written for it.

    Attributes:
        vizsynth_version: the version that wrote it.
        seed, tries: the dataset seed and the placement tries (sampled frames), or None.
        scene_file: the absolute path of the scene file (``render-scene`` frames), or None.
        index: the frame index.
        image_file, depth_file, instances_file: paths relative to ``images/``, ``depth/``,
            ``instances/``.
        map_files: {map name: path relative to the map's folder} for the optional maps written
            (recorded as ``{name}_file`` keys, in the order written).
        flow_files: {record key: path relative to its folder} of a sequence frame's optical-flow
            files (``vizsynth.maps.FLOW_RECORD_FILES``), recorded after the maps.
        depth_scale_m: metres per depth-PNG unit.
        annotations: one per labelled object of the scene, in scene order.
    """

    __pydantic_config__ = _FORBID

    vizsynth_version: StrictStr
    seed: StrictInt | None = None
    tries: StrictInt | None = None
    scene_file: StrictStr | None = None
    index: Count
    image_file: StrictStr
    depth_file: StrictStr
    instances_file: StrictStr
    map_files: dict[str, StrictStr] = field(default_factory=dict)
    flow_files: dict[str, StrictStr] = field(default_factory=dict)
    depth_scale_m: Annotated[StrictFloat, Field(gt=0)]
    annotations: tuple[ObjectRecord, ...]

    @property
    def files(self) -> list[tuple[str, str]]:
        """(dataset folder, path inside it) of every file of the frame: images, depth, instances,
        maps, flow (a flow folder holds two files per frame, .flo and KITTI .png)."""
        return ([(folder, getattr(self, key)) for key, folder in IMAGE_FILES] + list(self.map_files.items())
                + [(FLOW_RECORD_FILES[key], file) for key, file in self.flow_files.items()])

    @model_validator(mode="before")
    @classmethod
    def _gather_map_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        keys = [f"{name}_file" for name in MAP_NAMES]
        maps = {k[: -len("_file")]: data[k] for k in data if k in keys}
        flow = {k: data[k] for k in data if k in FLOW_RECORD_FILES}
        rest = {k: v for k, v in data.items() if k not in keys and k not in FLOW_RECORD_FILES}
        return rest | ({"map_files": maps} if maps else {}) | ({"flow_files": flow} if flow else {})

    @model_validator(mode="after")
    def _known_maps(self) -> RecordInfo:
        unknown = sorted(set(self.map_files) - set(MAP_NAMES))
        if unknown:
            raise ValueError(f"map_files names no known map: {unknown} (known: {list(MAP_NAMES)})")
        unknown = sorted(set(self.flow_files) - set(FLOW_RECORD_FILES))
        if unknown:
            raise ValueError(f"flow_files names no known flow file: {unknown}")
        return self

    @model_serializer(mode="wrap")
    def _record(self, handler) -> dict:
        values = handler(self)
        out = {k: values[k] for k in _ORDER if values[k] is not None}
        out |= {f"{name}_file": file for name, file in values["map_files"].items()}
        out |= values["flow_files"]
        out["depth_scale_m"] = values["depth_scale_m"]
        if "annotations" in values:  # left out by record_to_dict, which adds them itself
            out["annotations"] = values["annotations"]
        return out


@dataclass(frozen=True)
class FrameRecord:
    """A frame record: the scene that was rendered and what was written for it (``info``)."""

    scene: SceneSpec
    info: RecordInfo


class _Block(TypedDict):
    """The record block under its key, so that errors name their field as ``record.<field>``."""

    record: RecordInfo


_BLOCK = TypeAdapter(_Block)
_INFO = TypeAdapter(RecordInfo)
_FIELD_NAMES = {f.name for cls in (RecordInfo, ObjectRecord) for f in fields(cls)} | set(Rle.__annotations__)


_OBJECT_FIELDS = tuple(f.name for f in fields(ObjectRecord))


def object_to_dict(obj: ObjectRecord) -> dict:
    """The JSON form of one object record (its keys in field order).

    Its values are JSON values already (the writer builds them so, the reader validates them so):
    a shallow copy is the JSON form, at a fraction of a serialiser's cost per merged object.
    """
    return {name: getattr(obj, name) for name in _OBJECT_FIELDS}


def record_to_dict(record: FrameRecord, base_dir: str | os.PathLike) -> dict:
    """The JSON form of a frame record; mesh paths relative to ``base_dir`` (the record's folder).

    The annotations are JSON values already: ``object_to_dict`` copies them, at a fifth of what
    pydantic's serialiser took (0.17 of the 0.39 ms a default frame's record cost went on them).
    """
    info = _INFO.dump_python(record.info, mode="json", exclude={"annotations"})
    info["annotations"] = [object_to_dict(obj) for obj in record.info.annotations]
    return {**scene_to_dict(record.scene, base_dir=base_dir), "record": info}


def parse_record(data: bytes | str, base_dir: str | os.PathLike, source: str) -> FrameRecord:
    """Parses and validates a frame record's JSON text.

    Args:
        data: the file's content.
        base_dir: the record's folder (relative mesh paths are relative to it).
        source: name used in error messages (usually the file path).

    Raises:
        RecordError: not JSON, not an object, no ``record`` object, or any field breaking the
            schema; one message naming the source, the field, the rule and the value.
    """
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise RecordError(f"{source}: not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("record"), dict):
        got = type(raw).__name__ if not isinstance(raw, dict) else repr(raw.get("record"))[:60]
        raise RecordError(f"{source}: a frame record is an object with a 'record' object, got {got}")
    try:
        info = _BLOCK.validate_python({"record": raw["record"]})["record"]
    except ValidationError as exc:
        raise RecordError(format_validation_error(exc, source, _FIELD_NAMES)) from None
    try:
        scene = scene_from_dict({k: v for k, v in raw.items() if k != "record"}, base_dir, source)
    except SceneError as exc:
        raise RecordError(str(exc)) from None
    return FrameRecord(scene, info)
