"""write_bop: frame records -> a BOP scenewise dataset under ``OUT/bop/``.

Follows the BOP toolkit's definitions (docs/bop_datasets_format.md and scripts/calc_gt_info.py):
poses and model units in millimetres, ``depth_scale`` = millimetres per depth unit, boxes as
``[x, y, w, h]`` with ``w = x_max - x_min`` (BOP's ``calc_2d_bbox``, one less than COCO's),
``px_count_all`` counted on a canvas three times the image (truncated parts included),
``visib_fract = px_count_visib / px_count_all``, and -1 boxes for objects with nothing visible.

Layout: ``bop/models/obj_XXXXXX.ply`` + ``models_info.json``; ``bop/train_pbr/<scene>/`` with
``scene_camera.json``, ``scene_gt.json``, ``scene_gt_info.json``, ``rgb/``, ``depth/``,
``mask/``, ``mask_visib/``. Scene = frame index // 1000, image id = frame index % 1000. Images and
depth are hard links to the dataset's own files where the filesystem allows (else copies).

BOP has one fixed 3D model per object id: obj_id = category id, so every instance of a category
must share one asset and one ``mesh_scale``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import trimesh
from pycocotools import mask as coco_mask

from vizsynth.assets.meshes import MeshLibrary
from vizsynth.errors import ConfigError, OutputError
from vizsynth.frame_record import ObjectRecord
from vizsynth.io.files import CHUNK, write_bytes_atomic, write_json_atomic
from vizsynth.io.records import iter_records
from vizsynth.scene import ObjectSpec


def check_bop_config(config, catalog) -> None:
    """Refuses, before anything is rendered, a config whose categories have no fixed BOP model.

    Raises:
        ConfigError: amodal labels off, a varying size, or a category with several assets.
    """
    problems = []
    if not config.annotate.amodal:
        problems.append("annotate.amodal must be true (BOP's visib_fract and bbox_obj need full silhouettes)")
    if config.objects.primitive_size_m.kind != "constant" and any(e.primitive for e in catalog.entries):
        problems.append("objects.primitive_size_m must be a constant (one model per category)")
    if config.objects.mesh_scale.kind != "constant" and any(e.mesh for e in catalog.entries):
        problems.append("objects.mesh_scale must be a constant (one model per category)")
    for category in catalog.categories:
        count = sum(e.category == category for e in catalog.entries)
        if count > 1:
            problems.append(f"category '{category}' has {count} assets; BOP needs one model per category")
    if problems:
        raise ConfigError("output.formats holds 'bop', but " + "; ".join(problems))


def bop_bbox(coco_bbox: list[int] | None, visible: bool) -> list[int]:
    """BOP's [x, y, w, h] (w = x_max - x_min) from a COCO box (w = x_max - x_min + 1)."""
    if coco_bbox is None or not visible:
        return [-1, -1, -1, -1]
    x, y, w, h = coco_bbox
    return [x, y, w - 1, h - 1]


def gt_info(ann: ObjectRecord) -> dict:
    """One scene_gt_info entry from a record's object."""
    visible = ann.area > 0
    all_pixels = ann.silhouette_pixels or 0
    return {
        "bbox_obj": bop_bbox(ann.amodal_bbox, visible),
        "bbox_visib": bop_bbox(ann.bbox, visible),
        "px_count_all": all_pixels,
        # Every in-image silhouette pixel shows a surface, so the rendered depth is valid there.
        "px_count_valid": ann.amodal_area or 0,
        "px_count_visib": ann.area,
        "visib_fract": ann.area / all_pixels if all_pixels else 0.0,
    }


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _png(mask: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    return data.tobytes()


def _model_key(obj: ObjectSpec) -> tuple:
    return obj.primitive, obj.mesh, obj.mesh_scale


def write_bop(out_dir: Path, indices: Iterable[int], categories: list[dict]) -> int:
    """Writes the BOP dataset; returns the number of GT poses written.

    Raises:
        OutputError: a category appears with different geometry or scale (BOP needs fixed models),
            or the records hold no amodal measures (``annotate.amodal`` was off).
    """
    out_dir = Path(out_dir)
    root = out_dir / "bop"
    models: dict[int, tuple] = {}
    scenes: dict[int, dict[str, dict]] = {}
    count = 0
    for index, record in iter_records(out_dir, indices):
        info, camera = record.info, record.scene.camera
        scene_id, im_id = divmod(index, CHUNK)
        scene = scenes.setdefault(scene_id, {"camera": {}, "gt": {}, "info": {}})
        folder = root / "train_pbr" / f"{scene_id:06d}"
        world_to_cam = camera.world_to_cam
        scene["camera"][str(im_id)] = {
            "cam_K": camera.K.ravel().tolist(),
            "depth_scale": info.depth_scale_m * 1000.0,
            "cam_R_w2c": world_to_cam[:3, :3].ravel().tolist(),
            "cam_t_w2c": (world_to_cam[:3, 3] * 1000.0).tolist(),
        }
        suffix = Path(info.image_file).suffix
        _link(out_dir / "images" / info.image_file, folder / "rgb" / f"{im_id:06d}{suffix}")
        _link(out_dir / "depth" / info.depth_file, folder / "depth" / f"{im_id:06d}.png")
        objects = {o.instance_id: o for o in record.scene.objects}
        gts, infos = [], []
        for gt_id, ann in enumerate(info.annotations):
            if ann.silhouette_pixels is None:
                raise OutputError("BOP output needs amodal measures: set annotate.amodal: true")
            obj_id = ann.category_id
            key = _model_key(objects[ann.instance_id])
            if models.setdefault(obj_id, key) != key:
                raise OutputError(
                    f"BOP output needs one fixed model per category, but category '{ann.category}' appears "
                    f"as {models[obj_id]} and as {key} (frame {index}); give it one asset and a constant scale"
                )
            pose = np.asarray(ann.obj_to_cam)
            gts.append({"obj_id": obj_id, "cam_R_m2c": pose[:3, :3].ravel().tolist(),
                        "cam_t_m2c": (pose[:3, 3] * 1000.0).tolist()})
            infos.append(gt_info(ann))
            size = (camera.height, camera.width)
            amodal = coco_mask.decode(ann.amodal_segmentation) if ann.amodal_segmentation else np.zeros(size)
            visible = coco_mask.decode(ann.segmentation) if ann.segmentation else np.zeros(size)
            write_bytes_atomic(folder / "mask" / f"{im_id:06d}_{gt_id:06d}.png", _png(amodal))
            write_bytes_atomic(folder / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png", _png(visible))
            count += 1
        scene["gt"][str(im_id)] = gts
        scene["info"][str(im_id)] = infos
    for scene_id, scene in scenes.items():
        folder = root / "train_pbr" / f"{scene_id:06d}"
        write_json_atomic(folder / "scene_camera.json", scene["camera"])
        write_json_atomic(folder / "scene_gt.json", scene["gt"])
        write_json_atomic(folder / "scene_gt_info.json", scene["info"])
    _write_models(root / "models", models)
    return count


def _write_models(folder: Path, models: dict[int, tuple]) -> None:
    """obj_XXXXXX.ply in millimetres (with vertex normals) and models_info.json."""
    library = MeshLibrary()
    info = {}
    for obj_id, (primitive, mesh, scale) in sorted(models.items()):
        geometry = library.get(primitive=primitive, mesh=mesh)
        model = trimesh.Trimesh(vertices=geometry.vertices * scale * 1000.0, faces=geometry.faces, process=False)
        data = model.export(file_type="ply", encoding="binary", include_attributes=False)
        write_bytes_atomic(folder / f"obj_{obj_id:06d}.ply", data)
        hull = model.convex_hull.vertices
        diameter = max(float(np.linalg.norm(hull[:, None] - hull[None], axis=-1).max()), 0.0)
        low, high = model.bounds
        info[str(obj_id)] = {
            "diameter": diameter, "min_x": low[0], "min_y": low[1], "min_z": low[2],
            "size_x": high[0] - low[0], "size_y": high[1] - low[1], "size_z": high[2] - low[2],
        }
    write_json_atomic(folder / "models_info.json", {k: {a: float(b) for a, b in v.items()} for k, v in info.items()})
