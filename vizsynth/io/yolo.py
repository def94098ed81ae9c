"""write_yolo: frame records -> ultralytics YOLO labels (detect or segment) and data.yaml.

Layout: ultralytics' documented one under ``OUT/yolo/``: ``images/{train,val}/00000042.jpg``
(hard links to the dataset's own ``OUT/images/00000/00000042.jpg``, copies where links cannot be
made), ``labels/{train,val}/00000042.txt`` and ``data.yaml`` (no absolute path; the classes in
category order, class = category id - 1). Objects flagged ``ignore`` and hidden objects get no
line.

Segment labels hold exactly one polygon per object, through pixel centres. Holes, and the other
parts of a mask split by an occluder, are joined into it by zero-width bridges (out to the next
ring along a segment and back along the same segment), the approach ultralytics uses when it
converts COCO masks; readers fill by crossing parity, so holes stay empty.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import yaml
from pycocotools import mask as coco_mask

from vizsynth.frame_record import ObjectRecord
from vizsynth.io.coco import bridge_holes, crop_to_box, part_rings
from vizsynth.io.files import TMP_PREFIX, write_bytes_atomic
from vizsynth.io.records import iter_records

YOLO_DIR = "yolo"


def centre_contours(mask: np.ndarray) -> list[np.ndarray]:
    """One ring per 8-connected part of a mask, holes bridged in, through its boundary pixels'
    centres: (N, 2) float64, pixel (i, j) at (j, i). ``cv2.fillPoly`` (ultralytics'
    ``polygon2mask``) fills every pixel on or inside such a ring by crossing parity, so it gives
    back the part exactly, holes included, but for the 1-pixel line it draws along each bridge."""
    crop, origin = crop_to_box(mask)
    if not crop.size:
        return []
    return [bridge_holes(outer + origin, [hole + origin for hole in holes]).astype(np.float64)
            for outer, holes in part_rings(crop)]


def single_polygon(mask: np.ndarray) -> np.ndarray:
    """(N, 2) float64 polygon through pixel centres ((j, i) for pixel (i, j)) visiting every part
    of ``mask``: the parts are bridged to each other as holes are (``bridge_holes``)."""
    parts = sorted(centre_contours(mask), key=lambda p: (p[:, 0].min(), p[:, 1].min()))
    return bridge_holes(parts[0], parts[1:])


def label_lines(annotations: Sequence[ObjectRecord], width: int, height: int, task: str) -> list[str]:
    """One YOLO line per positive object: ``class cx cy w h`` or ``class x1 y1 x2 y2 ...``, in [0, 1]."""
    lines = []
    for ann in annotations:
        if ann.area == 0 or ann.ignore:
            continue
        cls = ann.category_id - 1
        if task == "detect":
            x, y, w, h = ann.bbox  # pixel edges: the box spans [x, x + w] x [y, y + h]
            values = [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]
        else:
            # Normalised coordinates span the image edge to edge, so the centre of pixel j is at
            # (j + 0.5) / width; ultralytics scales back and truncates to int, which gives j again
            # however the 6 decimals round.
            polygon = (single_polygon(coco_mask.decode(ann.segmentation)) + 0.5) / [width, height]
            values = np.clip(polygon, 0.0, 1.0).ravel().tolist()
        lines.append(" ".join([str(cls)] + [f"{v:.6f}" for v in values]))
    return lines


def yolo_split(index: int, val_fraction: float) -> str:
    """"val" or "train" for frame ``index``: a hash of the index alone decides, so a frame keeps
    its split whatever the worker count, the order frames finish in, or a resume."""
    digest = hashlib.sha256(f"vizsynth-yolo-split:{index}".encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < val_fraction else "train"


def _link_or_copy(source: Path, target: Path) -> None:
    """Puts ``source``'s bytes at ``target`` atomically: a hard link where the file system allows
    one (no extra space), a copy otherwise."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{TMP_PREFIX}{os.getpid()}-{target.name}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def write_yolo(out_dir: Path, indices: Iterable[int], categories: list[dict], task: str = "segment",
               val_fraction: float = 0.1) -> int:
    """Writes the ultralytics tree ``OUT/yolo/``: ``images/{train,val}/<frame>.<ext>`` (hard links
    to ``OUT/images``), ``labels/{train,val}/<frame>.txt`` and ``data.yaml``; returns the number of
    label lines. Frames are split by ``yolo_split``.

    ``data.yaml`` names no absolute path: ultralytics then takes the yaml's own folder as the
    dataset root, so a moved or copied dataset reads its own files.
    """
    out_dir = Path(out_dir)
    root = out_dir / YOLO_DIR
    total = 0
    for index, record in iter_records(out_dir, indices):
        camera = record.scene.camera
        lines = label_lines(record.info.annotations, camera.width, camera.height, task)
        total += len(lines)
        split = yolo_split(index, val_fraction)
        name = Path(record.info.image_file).name  # frame file names are unique: no chunk folders here
        _link_or_copy(out_dir / "images" / record.info.image_file, root / "images" / split / name)
        write_bytes_atomic(root / "labels" / split / Path(name).with_suffix(".txt"),
                           "".join(line + "\n" for line in lines).encode())
    for split in ("train", "val"):  # both exist even when a split drew no frame
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    data = {
        "train": "images/train",
        "val": "images/val",
        "task": task,
        "names": {c["id"] - 1: c["name"] for c in categories},
    }
    write_bytes_atomic(root / "data.yaml", yaml.safe_dump(data, sort_keys=False).encode())
    return total
