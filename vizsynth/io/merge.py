"""merge_coco: frame records -> annotations.json, streamed in frame order.

Memory does not grow with the number of frames: records are read one at a time, image entries
and annotation entries are streamed to two temporary files, which are then joined.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from vizsynth.io.files import TMP_PREFIX, record_path

CONVENTIONS = {
    "camera_K": "OpenCV: pixel centres at integer coordinates, x right, y down, z forward",
    "poses": "4x4 obj_to_cam / world_to_cam, OpenCV camera frame, metres",
    "depth": "z-depth (distance to the image plane), uint16 PNG, metres = value * depth_scale_m, 0 = no surface",
    "bbox": "COCO [x, y, w, h] tight around the visible mask, w = x_max - x_min + 1",
    "instances": "uint16 PNG, 0 = background, values = annotation instance_id",
}


def merge_coco(out_dir: Path, indices: Iterable[int], categories: list[str], info: dict) -> int:
    """Writes ``out_dir/annotations.json`` from the records of ``indices`` (in the order given).

    Image ids are ``index + 1``; annotation ids run from 1 in frame order. Returns the number of
    annotations written. The file appears atomically.
    """
    out_dir = Path(out_dir)
    n_annotations = 0
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=TMP_PREFIX) as tmp:
        images_path, anns_path = Path(tmp) / "images", Path(tmp) / "annotations"
        with open(images_path, "w") as images, open(anns_path, "w") as anns:
            first_image = True
            for index in indices:
                record = json.loads(record_path(out_dir, index).read_text())
                meta = record["record"]
                camera = record["camera"]
                image = {
                    "id": index + 1, "file_name": meta["image_file"], "width": camera["width"],
                    "height": camera["height"], "frame_index": index, "camera_K": camera["K"],
                    "world_to_cam": camera["world_to_cam"], "depth_file": meta["depth_file"],
                    "instances_file": meta["instances_file"], "depth_scale_m": meta["depth_scale_m"],
                }
                images.write(("" if first_image else ",\n") + json.dumps(image, separators=(",", ":")))
                first_image = False
                for ann in meta["annotations"]:
                    n_annotations += 1
                    entry = {"id": n_annotations, "image_id": index + 1, **ann}
                    anns.write(("" if n_annotations == 1 else ",\n") + json.dumps(entry, separators=(",", ":")))
        head = {
            "info": info,
            "licenses": [],
            "categories": [{"id": i + 1, "name": name, "supercategory": ""} for i, name in enumerate(categories)],
        }
        target = out_dir / "annotations.json"
        partial = out_dir / f"{TMP_PREFIX}{os.getpid()}-annotations.json"
        with open(partial, "w") as out:
            out.write(json.dumps(head)[:-1] + ',\n"images": [\n')
            with open(images_path) as f:
                shutil.copyfileobj(f, out)
            out.write('\n],\n"annotations": [\n')
            with open(anns_path) as f:
                shutil.copyfileobj(f, out)
            out.write("\n]}\n")
        os.replace(partial, target)
    return n_annotations
