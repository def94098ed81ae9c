"""write_coco: frame records -> annotations.json, streamed in frame order.

Memory does not grow with the number of frames: records are read one at a time, image entries
and annotation entries are streamed to two temporary files, which are then joined. CocoWriter
takes the frames one at a time, so a job can give it each frame while later ones render.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from vizsynth.frame_record import COCO_INSTANCE_KEY, FrameRecord, ObjectRecord, object_to_dict
from vizsynth.io.files import TMP_PREFIX, compact_json
from vizsynth.io.records import iter_records
from vizsynth.io.tracks import coco_annotation_fields, coco_image_fields, coco_video
from vizsynth.validate import ValidationReport, check_annotation

CONVENTIONS = {
    "camera_K": "OpenCV: pixel centres at integer coordinates, x right, y down, z forward",
    "poses": "4x4 obj_to_cam / world_to_cam, OpenCV camera frame, metres",
    "depth": "z-depth (distance to the image plane), uint16 PNG, metres = value * depth_scale_m, 0 = no surface",
    "bbox": "COCO [x, y, w, h] tight around the visible mask, w = x_max - x_min + 1 (whole numbers written as floats)",
    "instances": f"uint16 PNG, 0 = background, values = annotation {COCO_INSTANCE_KEY}",
    "amodal": "amodal_* = the full silhouette as if unoccluded; amodal_bbox is not clipped to the image",
    "keypoints": "COCO [x, y, v]: v = 2 visible, 1 in the image but occluded, 0 outside (x = y = 0)",
}


def crop_to_box(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the mask cut to its bounding box, the (x, y) of that box's top-left pixel): contours are
    traced inside each object's box, not over the whole frame."""
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if not len(rows):
        return mask[:0, :0].astype(np.uint8), np.zeros(2)
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.uint8), np.array([x0, y0], np.float64)


def bridge_holes(outer: np.ndarray, holes: Sequence[np.ndarray]) -> np.ndarray:
    """One ring from an outer ring and the rings of its holes: each hole is joined to what is
    there by a zero-width bridge between their nearest vertices (out along a segment, round the
    hole, back along the same segment).

    Readers fill polygons by crossing parity (pycocotools' ``frPyObjects``, ``cv2.fillPoly``): the
    bridge's two coincident edges cancel and a hole's ring is crossed once more, so it stays empty.
    """
    ring = outer
    for hole in holes:
        distance = np.linalg.norm(ring[:, None, :] - hole[None, :, :], axis=-1)
        i, j = np.unravel_index(np.argmin(distance), distance.shape)
        turned = np.roll(hole, -j, axis=0)
        ring = np.vstack([ring[: i + 1], turned, turned[:1], ring[i:]])
    return ring


def part_rings(mask: np.ndarray) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """(outer ring, hole rings) of each 8-connected part of a uint8 mask, as ``cv2.findContours``
    traces them through pixel centres: (N, 2) int arrays of (column, row)."""
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    links = hierarchy[0]  # per contour: next, previous, first child, parent
    parts = []
    for k, contour in enumerate(contours):
        if links[k][3] != -1:
            continue
        holes, child = [], links[k][2]
        while child != -1:
            holes.append(contours[child].reshape(-1, 2))
            child = links[child][0]
        parts.append((contour.reshape(-1, 2), holes))
    return parts


def outline_contours(mask: np.ndarray) -> list[np.ndarray]:
    """One ring per 8-connected part of a mask, holes bridged in, that pycocotools rasterises back
    into exactly the mask: (N, 2) float64 in COCO's pixel-edge coordinates (pixel (i, j) spans
    [j, j+1] x [i, i+1]).

    pycocotools' ``frPyObjects`` fills the pixels whose centre (j + 0.5, i + 0.5) lies inside the
    polygon, a centre on an edge only on the left and top edges: an outline through the mask's own
    pixel centres loses its right and bottom boundary pixels (IoU 0.94 for a 40-px object), one
    through pixel corners gains pixels where it cuts a step diagonally. So the rings are traced
    (``cv2.findContours``, 8-connected parts, 4-connected holes) through the pixel centres of the
    mask upsampled 2x and mapped back: they run a quarter pixel inside the mask's edge (outer and
    hole edges alike), every mask pixel's centre lies at least a quarter pixel inside and every
    other centre at least 0.7 pixel outside, which survives pycocotools' rounding of vertices to
    1/5 pixel. ``CHAIN_APPROX_SIMPLE`` keeps only the ends of straight runs, which loses nothing.
    Holes are bridged in (see ``bridge_holes``), since pycocotools joins an annotation's
    polygons by union and a separate hole polygon would be filled.
    """
    crop, origin = crop_to_box(mask)
    if not crop.size:
        return []
    upsampled = np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1)

    def to_pixels(ring: np.ndarray) -> np.ndarray:
        return (ring + 0.5) / 2.0 + origin

    return [bridge_holes(to_pixels(outer), [to_pixels(hole) for hole in holes])
            for outer, holes in part_rings(upsampled)]


def polygons(rle: dict) -> list[list[float]]:
    """COCO polygons of an RLE mask: one per 8-connected part, holes included (see
    outline_contours); pycocotools' ``annToMask`` gives back the mask exactly."""
    return [points.ravel().tolist() for points in outline_contours(coco_mask.decode(rle))]


def polygon_area(segmentation: list[list[float]], height: int, width: int) -> int:
    """Pixels pycocotools fills for ``segmentation`` (the union of its polygons)."""
    if not segmentation:
        return 0
    return int(coco_mask.area(coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))))


def coco_annotation(ann: ObjectRecord, segmentation: str) -> dict:
    """The COCO form of a record's object: keypoints zeroed where v = 0, polygons if asked."""
    entry = {COCO_INSTANCE_KEY if k == "instance_id" else k: v for k, v in object_to_dict(ann).items()}
    # JSON floats: torchvision's v2 transforms keep an integer box tensor's dtype and truncate
    # it when they resize ([343, 115, 407, 189] came out [114, 38, 135, 63]).
    if ann.bbox is not None:
        entry["bbox"] = [float(v) for v in ann.bbox]
    flat = entry.pop("keypoints")
    if segmentation == "polygon":
        # area is what the polygons hold (COCO's meaning: COCOeval sorts by it), which is the
        # visible area plus any hole they fill; the frame record keeps the visible area.
        entry["segmentation"] = polygons(ann.segmentation)
        entry["area"] = polygon_area(entry["segmentation"], *ann.segmentation["size"])
    if flat:
        keypoints = []
        for i in range(0, len(flat), 3):
            flag = int(flat[i + 2])
            keypoints += [flat[i], flat[i + 1], flag] if flag else [0, 0, 0]
        entry["keypoints"] = keypoints
        entry["num_keypoints"] = sum(1 for i in range(2, len(keypoints), 3) if keypoints[i] > 0)
    return entry


def coco_image(index: int, record: FrameRecord) -> dict:
    """The COCO image entry of frame ``index`` from its record: id ``index + 1``, the image, depth
    and instance files, the size, ``camera_K`` and ``world_to_cam``."""
    info, camera = record.info, record.scene.camera
    return {
        "id": index + 1, "file_name": info.image_file, "width": camera.width,
        "height": camera.height, "frame_index": index, "camera_K": camera.K.tolist(),
        "world_to_cam": camera.world_to_cam.tolist(), "depth_file": info.depth_file,
        "instances_file": info.instances_file, "depth_scale_m": info.depth_scale_m,
        **coco_image_fields(record),
    }


def coco_frame(index: int, record: FrameRecord, segmentation: str, first_id: int) -> tuple[dict, list[dict]]:
    """Frame ``index``'s COCO image entry and the annotations of its visible objects (ids from
    ``first_id``, in record order): what annotations.json holds for the frame."""
    anns = [ann for ann in record.info.annotations if ann.area > 0]
    entries = [{"id": first_id + n, "image_id": index + 1, **coco_annotation(ann, segmentation),
                **coco_annotation_fields(record, ann)} for n, ann in enumerate(anns)]
    return coco_image(index, record), entries


class CocoWriter:
    """``out_dir/annotations.json``, built from frame records given one at a time in frame order.

    ``add`` streams each frame's image and annotations to temporary files in ``out_dir`` (a
    folder named with TMP_PREFIX; ``temporary`` is its path); ``finish`` writes the file whole, so
    it appears atomically. Image ids are ``index + 1``; annotation ids run from 1 in the order
    given. Objects with no visible pixel are left out (they stay in the frame records). When
    ``report`` is given, each annotation gets the cheap checks of ``vizsynth validate`` (category,
    box shape and bounds) on the way. Use it as a context manager: leaving the block removes the
    temporary files, whether ``finish`` ran or not.
    """

    def __init__(self, out_dir: Path, categories: list[dict], segmentation: str = "rle",
                 report: ValidationReport | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.categories = categories
        self.segmentation = segmentation
        self.report = report
        self.added: list[int] = []
        self._category_ids = {c["id"] for c in categories}
        self._annotations = 0
        self._videos: dict[int, dict] = {}
        self._tmp = tempfile.TemporaryDirectory(dir=self.out_dir, prefix=TMP_PREFIX)
        self.temporary = Path(self._tmp.name)
        self._images = open(self.temporary / "images", "w")
        self._anns = open(self.temporary / "annotations", "w")

    def __enter__(self) -> "CocoWriter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Removes the temporary files (what they hold is discarded: a full disk is no error here)."""
        for stream in (self._images, self._anns):
            with contextlib.suppress(OSError):
                stream.close()
        self._tmp.cleanup()

    def add(self, index: int, record: FrameRecord) -> None:
        """Appends frame ``index`` (after every frame added before it)."""
        image, entries = coco_frame(index, record, self.segmentation, self._annotations + 1)
        self._images.write(("" if not self.added else ",\n") + compact_json(image))
        self.added.append(index)
        video = coco_video(record)
        if video is not None:
            self._videos.setdefault(video["id"], video)
        for entry in entries:
            self._annotations += 1
            if self.report is not None:
                check_annotation(entry, image, self._category_ids, self.report, masks=False)
            self._anns.write(("" if self._annotations == 1 else ",\n") + compact_json(entry))

    def finish(self, info: dict) -> int:
        """Writes annotations.json (``info`` in its head); returns the number of annotations."""
        self._images.close()
        self._anns.close()
        head = {"info": {**info, "conventions": CONVENTIONS}, "licenses": [], "categories": self.categories}
        if self._videos:  # sequences: COCO video fields as TAO and YouTube-VIS readers expect
            head["videos"] = list(self._videos.values())
        partial = self.out_dir / f"{TMP_PREFIX}{os.getpid()}-annotations.json"
        with open(partial, "w") as out:
            out.write(json.dumps(head)[:-1] + ',\n"images": [\n')
            with open(self.temporary / "images") as f:
                shutil.copyfileobj(f, out)
            out.write('\n],\n"annotations": [\n')
            with open(self.temporary / "annotations") as f:
                shutil.copyfileobj(f, out)
            out.write("\n]}\n")
        os.replace(partial, self.out_dir / "annotations.json")
        return self._annotations


def write_coco(out_dir: Path, indices: Iterable[int], categories: list[dict], info: dict,
               segmentation: str = "rle", report: ValidationReport | None = None,
               started: CocoWriter | None = None) -> int:
    """Writes ``out_dir/annotations.json`` from the records of ``indices`` (in the order given).

    See CocoWriter. ``started``: a writer already given the first of ``indices`` (a job merges
    frames while it renders), which gets the rest and is finished here. Returns the number of
    annotations written.
    """
    # A started writer is finished (or given up) here too: its temporary files go either way.
    indices = list(indices)
    with started or CocoWriter(out_dir, categories, segmentation, report) as writer:
        done = len(writer.added)
        if indices[:done] != writer.added:
            raise ValueError(f"the started COCO writer holds frames {writer.added[:5]}..., "
                             f"not the first of {indices[:5]}...")
        for index, record in iter_records(out_dir, indices[done:]):
            writer.add(index, record)
        return writer.finish(info)
