"""Strict validation of a COCO file (any) or a vizsynth dataset folder.

Stricter than the common readers: pycocotools raises on a dangling image id or missing
categories and little else; torchvision only on a missing image file. Each problem has a kind;
one root cause is reported once (an annotation on an unknown image is not also checked against
that image's size, an image whose recorded size is wrong does not also fail its masks' sizes, an
annotation already reported is not also compared with its frame record). Damaged files (truncated
images, records or manifests, corrupt RLE strings, maps of the wrong type) are problems of their
own kind, never a crash.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

from vizsynth.errors import RecordError, VizsynthError
from vizsynth.frame_record import COCO_INSTANCE_KEY, FrameRecord, parse_record
from vizsynth.imagefiles import read_image

EXAMPLES = 3
ANNOTATIONS = "annotations.json"
FROM_RECORDS = "frame records (no annotations.json)"


@dataclass
class ValidationReport:
    """Problems found, grouped by kind: {kind: [messages]} (all counted, the first kept)."""

    source: str
    labels: str | None = None  # a dataset folder's label source (LoadedLabels.source), shown by format
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    checked: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, message: str) -> None:
        self.counts[kind] += 1
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append(message)

    @property
    def ok(self) -> bool:
        return not self.counts

    def format(self) -> str:
        what = ", ".join(f"{n} {k}" for k, n in self.checked.items())
        what += f"; labels from {self.labels}" if self.labels else ""
        if self.ok:
            return f"{self.source}: valid ({what})"
        lines = [f"{self.source}: {sum(self.counts.values())} problems ({what})"]
        for kind in sorted(self.counts):
            lines.append(f"  {kind}: {self.counts[kind]}")
            lines += [f"    e.g. {m}" for m in self.examples[kind]]
        return "\n".join(lines)


def _mask(segmentation, height: int, width: int) -> np.ndarray:
    """(height, width) bool mask of a segmentation that _segmentation_problem accepted."""
    if isinstance(segmentation, list):
        rles = coco_mask.frPyObjects(segmentation, height, width)
        return coco_mask.decode(coco_mask.merge(rles)).astype(bool)
    rle = segmentation
    if isinstance(rle.get("counts"), list):
        rle = coco_mask.frPyObjects(rle, *rle["size"])
    return coco_mask.decode(rle).astype(bool)


def _rle_runs(counts: str) -> list[int]:
    """The run lengths of a compressed COCO RLE string, read as pycocotools' rleFrString reads it.

    Raises:
        ValueError: a character outside the RLE alphabet, or the string ends inside a number.
    """
    data = counts.encode("utf-8", "surrogateescape")
    runs: list[int] = []
    p = 0
    while p < len(data):
        x = k = 0
        more = True
        while more:
            if p == len(data):
                raise ValueError("it ends inside a number")
            c = data[p] - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {chr(data[p])!r} at {p} is not in the RLE alphabet")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def _segmentation_problem(segmentation, height: int, width: int) -> str | None:
    """Why ``segmentation`` is no mask of a height x width image, or None when it decodes.

    Checked before pycocotools sees it: older pycocotools write past the mask's end on RLE runs
    that sum to more than its pixels, and newer ones raise.
    """
    if isinstance(segmentation, list):
        for polygon in segmentation:
            if not (isinstance(polygon, list) and len(polygon) >= 6 and len(polygon) % 2 == 0
                    and all(isinstance(v, (int, float)) for v in polygon)):
                return f"polygon {str(polygon)[:60]} is not an even number (>= 6) of coordinates"
        return None
    if not isinstance(segmentation, dict) or not isinstance(segmentation.get("counts"), (str, list)):
        return f"segmentation {str(segmentation)[:60]} is neither polygons nor an RLE with counts"
    counts = segmentation["counts"]
    if isinstance(counts, list):
        runs = counts
    else:
        try:
            runs = _rle_runs(counts)
        except ValueError as exc:
            return f"RLE counts {counts[:40]!r} cannot be read: {exc}"
    if not all(isinstance(r, int) and r >= 0 for r in runs):
        return f"RLE counts {str(counts)[:40]!r} hold a negative run"
    if sum(runs) != height * width:
        return f"RLE counts {str(counts)[:40]!r} cover {sum(runs)} pixels, the mask has {height}x{width}"
    return None


@dataclass(frozen=True)
class CocoFindings:
    """What validate_coco saw, for the folder checks that follow (they must neither crash on nor
    report again what it reported)."""

    images: dict  # id -> image entry, the well-formed ones
    bad_size: set  # ids of images whose file's size differs from the recorded one
    flagged_images: set  # ids of images with a reported problem
    flagged_annotations: set  # positions in ``annotations`` of annotations with a reported problem
    unattributed: bool  # an annotation names no known image (it may be any image's missing one)
    all_images_usable: bool  # every images[] entry well-formed, ids unique (else frames cannot be matched)


def _well_formed_image(image) -> str | None:
    """Why an images[] entry is unusable, or None."""
    if not isinstance(image, dict):
        return f"{str(image)[:60]} is not an object"
    missing = [k for k in ("id", "file_name", "width", "height") if k not in image]
    if missing:
        return f"missing {', '.join(missing)}"
    if not (isinstance(image["file_name"], str) and image["file_name"]):
        return f"file_name {image['file_name']!r} is not a file name"
    if not all(isinstance(image[k], int) and image[k] > 0 for k in ("width", "height")):
        return f"width x height {image['width']!r} x {image['height']!r} are not positive integers"
    return None


def validate_coco(data: dict, image_root: Path | None, report: ValidationReport,
                  check_files: bool = True) -> CocoFindings:
    """Checks a parsed COCO dict: ids, categories, image files (decoded in full) and sizes, and
    every annotation (see check_annotation).

    Returns:
        CocoFindings: the usable images and what was reported about which image and annotation.
    """
    for key in ("images", "annotations", "categories"):
        if key not in data:
            report.add("missing_key", f"the file has no '{key}' key")
    images = data.get("images", [])
    annotations = data.get("annotations", [])
    categories = data.get("categories")
    report.checked = {"images": len(images), "annotations": len(annotations)}

    def total() -> int:
        return sum(report.counts.values())

    by_id: dict = {}
    flagged_images = set()
    well_formed = []
    for image in images:
        problem = _well_formed_image(image)
        if problem:
            name = image.get("id", "?") if isinstance(image, dict) else "?"
            report.add("malformed_image", f"image {name}: {problem}")
            continue
        well_formed.append(image)
    images = well_formed
    for image in images:
        if image["id"] in by_id:
            report.add("duplicate_image_id", f"image id {image['id']} appears twice")
            flagged_images.add(image["id"])
        by_id[image["id"]] = image
    category_ids = set()
    for category in categories or []:
        if category["id"] in category_ids:
            report.add("duplicate_category_id", f"category id {category['id']} appears twice")
        category_ids.add(category["id"])

    bad_size = set()
    if check_files and image_root is not None:
        for image in images:
            path = image_root / image["file_name"]
            if not path.is_file():
                report.add("missing_image_file", f"image {image['id']}: {path} does not exist")
                flagged_images.add(image["id"])
                continue
            try:
                with Image.open(path) as im:
                    width, height = im.size
                    im.load()  # decodes every byte: a truncated or damaged file fails here, not in training
            except (OSError, SyntaxError, ValueError) as exc:
                report.add("unreadable_image", f"image {image['id']}: {path} cannot be decoded ({exc})")
                flagged_images.add(image["id"])
                continue
            if (width, height) != (image["width"], image["height"]):
                bad_size.add(image["id"])
                flagged_images.add(image["id"])
                report.add("image_size_mismatch", f"image {image['id']}: recorded {image['width']}x{image['height']}, "
                                                  f"file {path.name} is {width}x{height}")

    seen_ann = set()
    flagged_annotations = set()
    unattributed = False
    for position, ann in enumerate(annotations):
        before = total()
        if not isinstance(ann, dict) or "image_id" not in ann:
            report.add("malformed_annotation", f"annotation {ann.get('id', '?') if isinstance(ann, dict) else ann!r}: "
                                               "no image_id")
            unattributed = True
            continue
        aid = ann.get("id")
        if aid in seen_ann:
            report.add("duplicate_annotation_id", f"annotation id {aid} appears twice")
        seen_ann.add(aid)
        image = by_id.get(ann.get("image_id"))
        if image is None:
            report.add("dangling_image_id", f"annotation {aid}: image id {ann.get('image_id')} is not in images")
            unattributed = True
        else:
            check_annotation(ann, image, category_ids if categories is not None else None, report,
                             geometry=image["id"] not in bad_size)
        if total() > before:
            flagged_annotations.add(position)
    return CocoFindings(by_id, bad_size, flagged_images, flagged_annotations, unattributed,
                        all_images_usable=len(by_id) == len(data.get("images", [])))


def check_annotation(ann: dict, image: dict, category_ids: set | None, report: ValidationReport,
                     geometry: bool = True, masks: bool = True) -> None:
    """Checks one annotation against its image: category, box shape and bounds, and (``masks``)
    the segmentation's form, box and area against the decoded mask. Without masks it is cheap
    enough to run on every annotation while a dataset is written."""
    aid = ann.get("id")
    if category_ids is not None and ann.get("category_id") not in category_ids:
        report.add("unknown_category_id", f"annotation {aid}: category id {ann.get('category_id')} is not in categories")
    if geometry:
        _check_geometry(ann, image, report, masks)


def _polygon_tolerance(area: int) -> float:
    """How far a polygon's rasterised area may lie from the annotation's ``area``: vizsynth writes
    the rasterised area itself (its outlines rasterise back exactly); other tools write the
    polygon's own area, which differs by about half the pixels an outline cuts."""
    return max(2.0, 0.05 * area)


def _check_geometry(ann: dict, image: dict, report: ValidationReport, masks: bool) -> None:
    aid, height, width = ann.get("id"), image["height"], image["width"]
    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
        report.add("malformed_bbox", f"annotation {aid}: bbox {bbox!r} is not [x, y, w, h]")
        return
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        report.add("nonpositive_bbox", f"annotation {aid}: bbox {bbox} has width or height <= 0")
        return
    segmentation = ann.get("segmentation")
    mask = None
    if isinstance(segmentation, dict) and list(segmentation.get("size", [])) != [height, width]:
        report.add("rle_size_mismatch", f"annotation {aid}: RLE size {segmentation.get('size')} but image is "
                                        f"{height}x{width} (h x w)")
        return
    if segmentation and masks:
        problem = _segmentation_problem(segmentation, height, width)
        if problem:
            report.add("malformed_segmentation", f"annotation {aid}: {problem}")
            return
        mask = _mask(segmentation, height, width)
    if mask is not None and mask.any():
        rows, cols = np.nonzero(mask)
        tight = [int(cols.min()), int(rows.min()), int(cols.max() - cols.min() + 1), int(rows.max() - rows.min() + 1)]
        tolerance = 0 if isinstance(segmentation, dict) else 1
        if max(abs(a - b) for a, b in zip(tight, bbox)) > tolerance:
            report.add("bbox_mask_mismatch", f"annotation {aid}: bbox {bbox} but its mask spans {tight} "
                                             "([x, y, w, h]; an [x1, y1, x2, y2] box shows up here)")
            return
        area = int(mask.sum())
        tolerance = 0 if isinstance(segmentation, dict) else _polygon_tolerance(area)
        if abs(area - ann.get("area", -1)) > tolerance:
            report.add("area_mask_mismatch", f"annotation {aid}: area {ann.get('area')} but its mask has {area} pixels")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        report.add("bbox_outside_image", f"annotation {aid}: bbox {bbox} leaves the {width}x{height} image")


@dataclass(frozen=True)
class LoadedLabels:
    """A dataset's COCO labels and where they came from.

    Attributes:
        data: the COCO dict: annotations.json as read, or built from the frame records the way
            the COCO writer builds it (RLE masks) when the dataset has no annotations.json.
        image_root: the folder that images[].file_name is relative to.
        folder: the vizsynth dataset folder, or None for a bare COCO file.
        source: ``ANNOTATIONS``, ``FROM_RECORDS``, or the COCO file's path.
        problems: (kind, message) of each frame record that could not be read (records only).
        records: {image id: its parsed frame record} when ``data`` was built from the records,
            else None (annotations.json or a bare COCO file: records are read when checked).
    """

    data: dict
    image_root: Path
    folder: Path | None
    source: str
    problems: tuple[tuple[str, str], ...] = ()
    records: Mapping[int, FrameRecord] | None = None


def dataset_folder(path: str | Path) -> Path | None:
    """The dataset folder ``path`` names: a folder itself, or the folder of a vizsynth dataset's
    own annotations.json (a manifest.json beside it: its images are in images/, not beside the
    file); None for any other file."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.name == ANNOTATIONS and (path.parent / "manifest.json").is_file():
        return path.parent
    return None


def manifest_categories(folder: Path) -> list[str] | None:
    """The ``categories`` list of dataset ``folder``'s manifest.json, or None when the manifest is
    missing, unreadable or names no list of strings."""
    try:
        names = json.loads((folder / "manifest.json").read_bytes()).get("categories")
    except (OSError, ValueError, AttributeError):
        return None
    return names if isinstance(names, list) and all(isinstance(n, str) for n in names) else None


def _coco_from_records(folder: Path) -> tuple[dict, list[tuple[str, str]], dict[int, FrameRecord]]:
    """The COCO dict the COCO writer (RLE) makes of every readable record under frames/, in frame
    order, with the manifest's categories (else those the records name); a problem for each
    record that cannot be read; and {image id: record}."""
    from vizsynth.io.coco import coco_frame  # vizsynth.io imports this module
    from vizsynth.io.files import TMP_PREFIX

    records, problems = [], []
    for path in sorted((folder / "frames").rglob("*.json")):
        if path.name.startswith(TMP_PREFIX):
            continue
        relative = path.relative_to(folder)
        try:
            records.append(parse_record(path.read_bytes(), path.parent, str(relative)))
        except (OSError, RecordError) as exc:
            problems.append(("malformed_record", str(exc).splitlines()[0]))
    records.sort(key=lambda r: r.info.index)
    images, annotations, named, by_image = [], [], {}, {}
    for record in records:
        image, entries = coco_frame(record.info.index, record, "rle", len(annotations) + 1)
        images.append(image)
        by_image[image["id"]] = record
        annotations += entries
        named.update({a.category_id: a.category for a in record.info.annotations})
    names = manifest_categories(folder)
    pairs = enumerate(names, 1) if names is not None else sorted(named.items())
    categories = [{"id": i, "name": name, "supercategory": ""} for i, name in pairs]
    return {"images": images, "annotations": annotations, "categories": categories}, problems, by_image


def load_labels(path: str | Path, image_root: str | Path | None = None) -> LoadedLabels:
    """Reads the labels of a dataset folder, of a vizsynth dataset's own annotations.json, or of a
    COCO file. A vizsynth folder without annotations.json (``output.formats`` without coco) is read
    from its frame records.

    Raises:
        VizsynthError: the path is neither a dataset folder with annotations.json or frame records
            nor a readable JSON file holding an object.
    """
    path = Path(path)
    folder = dataset_folder(path)
    coco_path = folder / ANNOTATIONS if folder is not None and path.is_dir() else path
    root = Path(image_root) if image_root else (folder / "images" if folder is not None else coco_path.parent)
    if folder is not None and not coco_path.is_file() and (folder / "frames").is_dir():
        data, problems, records = _coco_from_records(folder)
        if not data["images"] and not problems:
            raise VizsynthError(f"{folder}: no {ANNOTATIONS} and no frame record under frames/")
        return LoadedLabels(data, root, folder, FROM_RECORDS, tuple(problems), records)
    if not coco_path.is_file():
        raise VizsynthError(f"{coco_path} does not exist (give a dataset folder or a COCO JSON file)")
    try:
        data = json.loads(coco_path.read_bytes())
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise VizsynthError(f"{coco_path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise VizsynthError(f"{coco_path}: a COCO file holds a JSON object, this one holds a {type(data).__name__}")
    return LoadedLabels(data, root, folder, ANNOTATIONS if folder is not None else str(coco_path))


def validate_dataset(path: str | Path, image_root: str | Path | None = None) -> ValidationReport:
    """Validates a vizsynth dataset folder (or its own annotations.json), or a COCO file (images
    under ``image_root``). A dataset without annotations.json is validated from its frame records.

    For vizsynth folders it also checks the manifest (frame count, config digest), the per-frame
    records (readable, none stray, each equal to its annotations.json entries), and that every
    instance map and depth map is a uint16 image that agrees with the annotations.

    Raises:
        VizsynthError: as load_labels.
    """
    labels = load_labels(path, image_root)
    report = ValidationReport(str(path), labels=labels.source if labels.folder is not None else None)
    for kind, message in labels.problems:
        report.add(kind, message)
    found = validate_coco(labels.data, labels.image_root, report)
    if labels.problems:
        # An unreadable record is no image: not also a frame missing from the manifest's count or a stray record.
        found = replace(found, all_images_usable=False)
    if labels.folder is not None and (labels.folder / "manifest.json").is_file():
        _check_vizsynth(labels.folder, labels.data, found, report, labels.records)
    return report


def _check_vizsynth(folder: Path, data: dict, found: CocoFindings, report: ValidationReport,
                    records: Mapping[int, FrameRecord] | None) -> None:
    """The manifest, the records and the maps of a vizsynth dataset. ``records``: the parsed
    records ``data`` was built from (then every record is an image, and each equals its entries
    by construction: those two checks are for annotations.json), or None."""
    images = list(found.images.values())
    _check_manifest(folder, images if found.all_images_usable else None, report)
    if found.all_images_usable and records is None:
        _check_stray_records(folder, images, report)
    by_image = defaultdict(list)
    for position, ann in enumerate(data.get("annotations", [])):
        if isinstance(ann, dict):
            by_image[ann.get("image_id")].append((position, ann))
    for image in images:
        if image["id"] in found.bad_size:
            continue
        anns = by_image[image["id"]]
        clean = image["id"] not in found.flagged_images
        record_path = folder / "frames" / Path(image["file_name"]).with_suffix(".json")
        if records is None:
            record = _read_record(folder, record_path, image, report)
            if record is not None and clean:
                _compare_record(record, record_path.relative_to(folder), image, anns, found, report)
        else:
            record = records[image["id"]]
        maps = _read_maps(folder, image, report)
        if maps is None:
            continue
        ids, depth = maps
        if ((depth > 0) != (ids > 0)).any():
            report.add("depth_instance_mismatch", f"image {image['id']}: depth and instance map disagree on "
                                                  "which pixels show a surface")
        for position, ann in anns:
            seg = ann.get("segmentation")
            if position in found.flagged_annotations or not seg:
                continue
            if isinstance(seg, dict) and list(seg.get("size", [])) != list(ids.shape):
                continue
            if not np.array_equal(_mask(seg, *ids.shape), ids == ann.get(COCO_INSTANCE_KEY)):
                report.add("instance_map_mismatch", f"annotation {ann.get('id')}: its mask differs from "
                                                    f"instance {ann.get(COCO_INSTANCE_KEY)} in the instance map")
        if record is not None and clean and not found.unattributed:
            _check_unannotated(record, record_path.relative_to(folder), image, anns, ids, report)


def _check_manifest(folder: Path, images: list[dict] | None, report: ValidationReport) -> None:
    """The manifest is readable, its frames are the images of annotations.json (unless ``images``
    is None), and its config digest is that of config.yaml."""
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError as exc:
        report.add("malformed_manifest", f"{path}: not valid JSON ({exc})")
        return
    if not isinstance(manifest, dict):
        report.add("malformed_manifest", f"{path}: holds a {type(manifest).__name__}, not an object")
        return
    if manifest.get("status") != "complete":
        failed = manifest.get("failed")
        report.add("manifest_incomplete", f"manifest status is {manifest.get('status')!r}, "
                                          f"{len(failed) if isinstance(failed, list) else '?'} failed frames")
    num_frames, failed = manifest.get("num_frames"), manifest.get("failed", [])
    if not (isinstance(num_frames, int) and not isinstance(num_frames, bool) and num_frames >= 0
            and isinstance(failed, list) and all(isinstance(f, dict) and isinstance(f.get("index"), int)
                                                 for f in failed)):
        report.add("malformed_manifest", f"{path}: num_frames {num_frames!r} is not a frame count, or failed "
                                         f"{str(failed)[:60]} is not a list of {{index, error}}")
    elif images is not None:
        # render-scene keeps frame records' own indices and lists them; generate writes 0..N-1.
        listed = manifest.get("frame_indices")
        frames = set(listed) if isinstance(listed, list) and all(isinstance(i, int) for i in listed) else None
        expected = (frames if frames is not None else set(range(num_frames))) - {f["index"] for f in failed}
        present = {image.get("frame_index") for image in images}
        completed = manifest.get("completed", len(expected))
        if present != expected or completed != len(expected):
            missing, extra = sorted(expected - present, key=str), sorted(present - expected, key=str)
            report.add("frame_count_mismatch",
                       f"manifest num_frames {num_frames} with {len(failed)} failed (completed {completed}) expects "
                       f"{len(expected)} images, the labels have {len(present)}: frames {missing[:5]} missing, "
                       f"frames {extra[:5]} not in the manifest")
    digest = manifest.get("config_sha256")
    if digest is not None:
        # vizsynth.run.outdir.config_digest: sha256 of the config.yaml bytes as written.
        config = folder / "config.yaml"
        actual = hashlib.sha256(config.read_bytes()).hexdigest() if config.is_file() else None
        if actual != digest:
            seen = "does not exist" if actual is None else f"has sha256 {actual[:16]}... (edited after the job?)"
            report.add("config_digest_mismatch", f"manifest config_sha256 {str(digest)[:16]}... but {config} {seen}")


def _check_stray_records(folder: Path, images: list[dict], report: ValidationReport) -> None:
    """Every frame record belongs to an image of annotations.json."""
    from vizsynth.io.files import TMP_PREFIX  # vizsynth.io imports this module: not at the top

    frames = folder / "frames"
    if not frames.is_dir():
        return
    expected = {frames / Path(image["file_name"]).with_suffix(".json") for image in images}
    for path in sorted(frames.rglob("*.json")):
        if path not in expected and not path.name.startswith(TMP_PREFIX):
            report.add("stray_record", f"{path.relative_to(folder)} is the record of no image in annotations.json")


def _read_record(folder: Path, path: Path, image: dict, report: ValidationReport) -> FrameRecord | None:
    """The frame record of ``image``, or None (reported) when it is missing or breaks the schema."""
    relative = path.relative_to(folder)
    if not path.is_file():
        report.add("missing_record", f"image {image['id']}: {relative} does not exist")
        return None
    try:
        return parse_record(path.read_bytes(), path.parent, str(relative))
    except RecordError as exc:
        problems = str(exc).splitlines()
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        report.add("malformed_record", f"image {image['id']}: {problems[0]}{more}")
        return None


def _differing(expected: dict, actual: dict) -> list[str]:
    return sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))


def _compare_record(record: FrameRecord, relative: Path, image: dict, anns: list, found: CocoFindings,
                    report: ValidationReport) -> None:
    """annotations.json holds what the COCO writer makes of the record (records are the source of
    every label format, so a disagreement means one of them was changed)."""
    from vizsynth.io.coco import coco_annotation, coco_image  # vizsynth.io imports this module
    from vizsynth.io.tracks import coco_annotation_fields

    try:
        expected_image = coco_image(record.info.index, record)
        visible = {a.instance_id: a for a in record.info.annotations if a.area > 0}
        expected_anns = {}
        for position, ann in anns:
            source = visible.get(ann.get(COCO_INSTANCE_KEY))
            if position not in found.flagged_annotations and source is not None:
                mode = "polygon" if isinstance(ann.get("segmentation"), list) else "rle"
                expected_anns[position] = {"id": ann.get("id"), "image_id": image["id"],
                                           **coco_annotation(source, mode), **coco_annotation_fields(record, source)}
    # A well-typed record can still hold what no COCO entry is made of (keypoints not in triples,
    # a flag of null, an RLE string that does not decode into polygons).
    except (TypeError, ValueError, IndexError) as exc:
        report.add("malformed_record", f"image {image['id']}: {relative} lacks or mistypes a field ({exc!r})")
        return
    keys = _differing(expected_image, image)
    if keys:
        report.add("record_annotation_mismatch", f"image {image['id']}: {', '.join(keys)} differ from {relative}")
    for position, ann in anns:
        if position in found.flagged_annotations:
            continue
        if position not in expected_anns:
            report.add("record_annotation_mismatch", f"annotation {ann.get('id')}: instance {ann.get(COCO_INSTANCE_KEY)} "
                                                     f"is no visible object of {relative}")
            continue
        keys = _differing(expected_anns[position], ann)
        if keys:
            report.add("record_annotation_mismatch", f"annotation {ann.get('id')}: {', '.join(keys)} differ from "
                                                     f"instance {ann.get(COCO_INSTANCE_KEY)} in {relative}")


def _check_unannotated(record: FrameRecord, relative: Path, image: dict, anns: list, ids: np.ndarray,
                       report: ValidationReport) -> None:
    """Every visible object of the record and every labelled object in the instance map has an
    annotation (distractors are in the map, never annotated)."""
    annotated = {ann.get(COCO_INSTANCE_KEY) for _, ann in anns}
    objects = {o.instance_id: o for o in record.scene.objects}
    visible = {a.instance_id for a in record.info.annotations if a.area > 0}
    in_map = {int(i) for i in np.unique(ids)} - {0}
    for instance in sorted(in_map - objects.keys()):
        report.add("instance_map_mismatch", f"image {image['id']}: instance {instance} is in the instance map but "
                                            f"no object of {relative}")
    labelled = {i for i in in_map & objects.keys() if not objects[i].distractor}
    for instance in sorted((visible | labelled) - annotated):
        report.add("missing_annotation", f"image {image['id']}: instance {instance} is visible (in {relative} and "
                                         "the instance map) but has no annotation in annotations.json")


def _read_maps(folder: Path, image: dict, report: ValidationReport) -> tuple[np.ndarray, np.ndarray] | None:
    """(ids, depth), both (H, W) uint16, or None (reported) when either is missing, unreadable
    or not a one-channel uint16 image of the image's size."""
    maps = []
    for name in ("instances", "depth"):
        file = image.get(f"{name}_file")
        path = folder / name / file if isinstance(file, str) and file else None
        if path is None or not path.is_file():
            report.add("missing_map", f"image {image['id']}: {name} map {name}/{file} does not exist")
            return None
        array = read_image(path)
        if array is None:
            report.add("unreadable_map", f"image {image['id']}: {name}/{file} cannot be decoded as an image")
            return None
        if array.dtype != np.uint16 or array.shape != (image["height"], image["width"]):
            shape = "x".join(str(n) for n in array.shape)
            report.add("malformed_map", f"image {image['id']}: {name}/{file} is {shape} {array.dtype}, expected "
                                        f"{image['height']}x{image['width']} uint16 (one channel)")
            return None
        maps.append(array)
    return maps[0], maps[1]
