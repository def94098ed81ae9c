"""Strict validation of a COCO file (any) or a vizsynth dataset folder.

Stricter than the common readers: pycocotools raises on a dangling image id or missing
categories and little else; torchvision only on a missing image file. Each problem has a kind;
one root cause is reported once (an annotation on an unknown image is not also checked against
that image's size, an image whose recorded size is wrong does not also fail its masks' sizes).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

from vizsynth.errors import VizsynthError

EXAMPLES = 3


@dataclass
class ValidationReport:
    """Problems found, grouped by kind: {kind: [messages]} (all counted, the first kept)."""

    source: str
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
        if self.ok:
            return f"{self.source}: valid ({what})"
        lines = [f"{self.source}: {sum(self.counts.values())} problems ({what})"]
        for kind in sorted(self.counts):
            lines.append(f"  {kind}: {self.counts[kind]}")
            lines += [f"    e.g. {m}" for m in self.examples[kind]]
        return "\n".join(lines)


def _mask(segmentation, height: int, width: int) -> np.ndarray:
    if isinstance(segmentation, list):
        rles = coco_mask.frPyObjects(segmentation, height, width)
        return coco_mask.decode(coco_mask.merge(rles)).astype(bool)
    rle = segmentation
    if isinstance(rle.get("counts"), list):
        rle = coco_mask.frPyObjects(rle, *rle["size"])
    return coco_mask.decode(rle).astype(bool)


def validate_coco(data: dict, image_root: Path | None, report: ValidationReport, check_files: bool = True) -> set:
    """Checks a parsed COCO dict; returns the ids of images whose recorded size is wrong."""
    for key in ("images", "annotations", "categories"):
        if key not in data:
            report.add("missing_key", f"the file has no '{key}' key")
    images = data.get("images", [])
    annotations = data.get("annotations", [])
    categories = data.get("categories")
    report.checked = {"images": len(images), "annotations": len(annotations)}

    by_id: dict = {}
    well_formed = []
    for image in images:
        missing = [k for k in ("id", "file_name", "width", "height") if k not in image]
        if missing:
            report.add("malformed_image", f"image {image.get('id', '?')}: missing {', '.join(missing)}")
            continue
        well_formed.append(image)
    images = well_formed
    for image in images:
        if image["id"] in by_id:
            report.add("duplicate_image_id", f"image id {image['id']} appears twice")
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
                continue
            with Image.open(path) as im:
                width, height = im.size
            if (width, height) != (image["width"], image["height"]):
                bad_size.add(image["id"])
                report.add("image_size_mismatch", f"image {image['id']}: recorded {image['width']}x{image['height']}, "
                                                  f"file {path.name} is {width}x{height}")

    seen_ann = set()
    for ann in annotations:
        if not isinstance(ann, dict) or "image_id" not in ann:
            report.add("malformed_annotation", f"annotation {ann.get('id', '?') if isinstance(ann, dict) else ann!r}: "
                                               "no image_id")
            continue
        aid = ann.get("id")
        if aid in seen_ann:
            report.add("duplicate_annotation_id", f"annotation id {aid} appears twice")
        seen_ann.add(aid)
        image = by_id.get(ann.get("image_id"))
        if image is None:
            report.add("dangling_image_id", f"annotation {aid}: image id {ann.get('image_id')} is not in images")
            continue
        check_annotation(ann, image, category_ids if categories is not None else None, report,
                         geometry=image["id"] not in bad_size)
    return bad_size


def check_annotation(ann: dict, image: dict, category_ids: set | None, report: ValidationReport,
                     geometry: bool = True, masks: bool = True) -> None:
    """Checks one annotation against its image: category, box shape and bounds, and (``masks``)
    box and area against the decoded mask. Without masks it is cheap enough to run on every
    annotation while a dataset is written."""
    aid = ann.get("id")
    if category_ids is not None and ann.get("category_id") not in category_ids:
        report.add("unknown_category_id", f"annotation {aid}: category id {ann.get('category_id')} is not in categories")
    if geometry:
        _check_geometry(ann, image, report, masks)


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
        if abs(area - ann.get("area", -1)) > (0 if isinstance(segmentation, dict) else max(2, 0.05 * area)):
            report.add("area_mask_mismatch", f"annotation {aid}: area {ann.get('area')} but its mask has {area} pixels")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        report.add("bbox_outside_image", f"annotation {aid}: bbox {bbox} leaves the {width}x{height} image")


def load_coco(path: str | Path, image_root: str | Path | None = None) -> tuple[dict, Path, Path | None]:
    """Reads a dataset folder's annotations.json or a COCO file.

    Returns:
        (the COCO dict, the image root, the dataset folder or None for a bare COCO file). The
        image root is ``image_root`` if given, else the folder's images/, else the file's folder.

    Raises:
        VizsynthError: the path is neither a folder with annotations.json nor a readable JSON file.
    """
    path = Path(path)
    folder = path if path.is_dir() else None
    coco_path = folder / "annotations.json" if folder else path
    if not coco_path.is_file():
        raise VizsynthError(f"{coco_path} does not exist (give a dataset folder or a COCO JSON file)")
    try:
        data = json.loads(coco_path.read_text())
    except json.JSONDecodeError as exc:
        raise VizsynthError(f"{coco_path}: not valid JSON: {exc}") from None
    root = Path(image_root) if image_root else (folder / "images" if folder else coco_path.parent)
    return data, root, folder


def validate_dataset(path: str | Path, image_root: str | Path | None = None) -> ValidationReport:
    """Validates a vizsynth dataset folder, or a COCO file (images under ``image_root``).

    For vizsynth folders it also checks the manifest, the per-frame records, and that every
    instance map and depth map agrees with the annotations.

    Raises:
        VizsynthError: the path is neither a folder with annotations.json nor a readable JSON file.
    """
    data, root, folder = load_coco(path, image_root)
    report = ValidationReport(str(path))
    bad_size = validate_coco(data, root, report)
    if folder is not None and (folder / "manifest.json").is_file():
        _check_vizsynth(folder, data, bad_size, report)
    return report


def _check_vizsynth(folder: Path, data: dict, bad_size: set, report: ValidationReport) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest.get("status") != "complete":
        report.add("manifest_incomplete", f"manifest status is {manifest.get('status')!r}, "
                                          f"{len(manifest.get('failed', []))} failed frames")
    by_image = defaultdict(list)
    for ann in data.get("annotations", []):
        by_image[ann.get("image_id")].append(ann)
    for image in data.get("images", []):
        if image["id"] in bad_size:
            continue
        stem = Path(image["file_name"]).with_suffix("")
        if not (folder / "frames" / f"{stem}.json").is_file():
            report.add("missing_record", f"image {image['id']}: frames/{stem}.json does not exist")
        ids = cv2.imread(str(folder / "instances" / image.get("instances_file", "")), cv2.IMREAD_UNCHANGED)
        depth = cv2.imread(str(folder / "depth" / image.get("depth_file", "")), cv2.IMREAD_UNCHANGED)
        if ids is None or depth is None:
            report.add("missing_map", f"image {image['id']}: instance or depth map missing")
            continue
        if ((depth > 0) != (ids > 0)).any():
            report.add("depth_instance_mismatch", f"image {image['id']}: depth and instance map disagree on "
                                                  "which pixels show a surface")
        for ann in by_image[image["id"]]:
            seg = ann.get("segmentation")
            if not isinstance(seg, dict) or list(seg.get("size", [])) != list(ids.shape):
                continue
            if not np.array_equal(_mask(seg, *ids.shape), ids == ann.get("instance_id")):
                report.add("instance_map_mismatch", f"annotation {ann.get('id')}: its mask differs from "
                                                    f"instance {ann.get('instance_id')} in the instance map")
