"""write_bop: frame records -> a BOP scenewise dataset under ``OUT/bop/``.

Follows the BOP toolkit's definitions (docs/bop_datasets_format.md and scripts/calc_gt_info.py):
poses and model units in millimetres, ``depth_scale`` = millimetres per depth unit, boxes as
``[x, y, w, h]`` with ``w = x_max - x_min`` (BOP's ``calc_2d_bbox``, one less than COCO's),
``px_count_all`` counted on a canvas three times the image (truncated parts included),
``visib_fract = px_count_visib / px_count_all``, and -1 boxes for objects with nothing visible.

Layout: ``bop/camera.json``, ``bop/dataset_info.json``, ``bop/models/obj_XXXXXX.ply`` +
``models_info.json`` (ASCII PLY with vertex normals, millimetres, symmetries), ``bop/models_eval/``
(the same models: vizsynth does not resample them), ``bop/train_pbr/<scene>/`` with
``scene_camera.json``, ``scene_gt.json``, ``scene_gt_info.json``, ``rgb/``, ``depth/``, ``mask/``,
``mask_visib/``. A sequence (``sequence`` block in the config: one scene seen from a moving
camera) is one BOP scene: scene id = sequence index, image id = frame within the sequence. Single
frames: scene = frame index // 1000, image id = frame index % 1000. Images and depth are hard
links to the dataset's own files where the filesystem allows (else copies).

BOP has one fixed 3D model per object id: obj_id = category id, so every instance of a category
must share one asset and one ``mesh_scale``.

Pixel convention: ``cam_K`` is OpenCV's (pixel centres at integer coordinates), as everywhere in
vizsynth. The BOP toolkit's renderers put pixel centres half a pixel off; see PIXEL_CONVENTION.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import trimesh
from pycocotools import mask as coco_mask

from vizsynth.assets.meshes import MeshLibrary
from vizsynth.assets.symmetries import (
    NO_SYMMETRIES,
    Symmetries,
    bop_symmetries,
    declared_symmetries,
    primitive_symmetries,
)
from vizsynth.config import MeshAsset, load_config
from vizsynth.errors import ConfigError, OutputError
from vizsynth.frame_record import ObjectRecord
from vizsynth.io.files import CHUNK, write_bytes_atomic, write_json_atomic
from vizsynth.io.records import iter_records
from vizsynth.scene import ObjectSpec, SceneSpec

PIXEL_CONVENTION = (
    "cam_K follows OpenCV: pixel centres at integer coordinates (pixel (0, 0) covers [-0.5, 0.5]^2). "
    "The BOP toolkit's renderer (renderer_vispy, measured) puts pixel centres at half-integers for the same K, "
    "so masks it renders from these poses sit half a pixel up and left of the images and of mask/ and "
    "mask_visib/. Pass cx + 0.5, cy + 0.5 to the toolkit's renderer (render_object) to reproduce them; "
    "see README, 'BOP and the BOP toolkit', for the measured difference."
)


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


def bop_ids(index: int, scene: SceneSpec) -> tuple[int, int]:
    """(scene_id, im_id) of a frame: its sequence and place in it, else index // 1000 and % 1000."""
    if scene.sequence is not None:
        return scene.sequence.sequence, scene.sequence.t
    return divmod(index, CHUNK)


def _dataset_camera(camera, depth_scale_mm: float) -> dict:
    """camera.json's keys (BOP: cx, cy, depth_scale, fx, fy, height, width) for one frame's camera."""
    K = camera.K
    return {"cx": float(K[0, 2]), "cy": float(K[1, 2]), "depth_scale": depth_scale_mm,
            "fx": float(K[0, 0]), "fy": float(K[1, 1]), "height": camera.height, "width": camera.width}


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
    first_camera, camera_varies = None, False  # BOP's dataset-level camera: the first frame's
    grouping = "frames"
    count = 0
    for index, record in iter_records(out_dir, indices):
        info, camera = record.info, record.scene.camera
        scene_id, im_id = bop_ids(index, record.scene)
        grouping = "sequences" if record.scene.sequence is not None else grouping
        scene = scenes.setdefault(scene_id, {"camera": {}, "gt": {}, "info": {}})
        folder = root / "train_pbr" / f"{scene_id:06d}"
        world_to_cam = camera.world_to_cam
        depth_scale_mm = info.depth_scale_m * 1000.0
        scene["camera"][str(im_id)] = {
            "cam_K": camera.K.ravel().tolist(),
            "depth_scale": depth_scale_mm,
            "cam_R_w2c": world_to_cam[:3, :3].ravel().tolist(),
            "cam_t_w2c": (world_to_cam[:3, 3] * 1000.0).tolist(),
        }
        this_camera = _dataset_camera(camera, depth_scale_mm)
        first_camera = first_camera or this_camera
        camera_varies = camera_varies or this_camera != first_camera
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
    declared = _declared_mesh_symmetries(out_dir / "config.yaml")
    _write_models(root / "models", models, declared)
    for name in [*(f"obj_{obj_id:06d}.ply" for obj_id in sorted(models)), "models_info.json"]:
        _link(root / "models" / name, root / "models_eval" / name)  # the evaluation models are the same files
    if first_camera is not None:
        # scene_camera.json holds every image's K.
        write_json_atomic(root / "camera.json", {**first_camera, "cam_K_varies": camera_varies})
    write_json_atomic(root / "dataset_info.json", _dataset_info(categories, models, grouping))
    return count


def _dataset_info(categories: list[dict], models: dict[int, tuple], grouping: str) -> dict:
    """dataset_info.json: the conventions a reader of this BOP dataset needs, stated once."""
    names = {c["id"]: c["name"] for c in categories}
    scenes = ("one scene per sequence: scene_id = sequence index, im_id = frame t within it"
              if grouping == "sequences" else
              "single frames in scenes of 1000: scene_id = frame index // 1000, im_id = frame index % 1000")
    return {
        "generator": "vizsynth",
        "format": "BOP scenewise (bop_toolkit docs/bop_datasets_format.md)",
        "split": "train_pbr",
        "scenes": scenes,
        "units": "millimetres: models, cam_t_m2c, cam_t_w2c; depth PNG value * depth_scale = z-depth in mm",
        "pixel_convention": PIXEL_CONVENTION,
        "camera": "camera.json holds the first image's intrinsics; cam_K_varies says whether other images "
                  "differ; scene_camera.json holds each image's cam_K",
        "models": "ASCII PLY with vertex normals (nx, ny, nz), millimetres, no colours or textures",
        "models_eval": "identical to models/: vizsynth's models are not resampled for evaluation",
        "symmetries": "models_info.json symmetries_discrete / symmetries_continuous in the toolkit's "
                      "convention (identity implied); primitives get theirs, mesh assets those their "
                      "config declares (objects.assets[].symmetries), none otherwise",
        "objects": {str(obj_id): names.get(obj_id, "") for obj_id in sorted(models)},
    }


def _declared_mesh_symmetries(config_file: Path) -> dict[str, Symmetries]:
    """{resolved mesh path: its declared symmetries} from the dataset's resolved config, if it has one."""
    if not config_file.is_file():
        return {}
    assets = load_config(config_file).objects.assets
    return {str(Path(a.mesh).resolve()): declared_symmetries(a.symmetries)
            for a in assets if isinstance(a, MeshAsset) and a.symmetries is not None}


def ply_ascii(vertices: np.ndarray, normals: np.ndarray, faces: np.ndarray, comment: str) -> bytes:
    """An ASCII PLY as the BOP toolkit's inout.load_ply reads it: x y z nx ny nz per vertex, triangles.

    Args:
        vertices: (V, 3) float, millimetres.
        normals: (V, 3) float unit vertex normals.
        faces: (F, 3) int vertex indices.
        comment: one header comment line.
    """
    header = (
        f"ply\nformat ascii 1.0\ncomment {comment}\nelement vertex {len(vertices)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property float nx\nproperty float ny\nproperty float nz\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    body = io.BytesIO()
    np.savetxt(body, np.hstack([vertices, normals]), fmt="%.6f")
    np.savetxt(body, np.hstack([np.full((len(faces), 1), 3), faces]).astype(np.int64), fmt="%d")
    return header.encode() + body.getvalue()


def _write_models(folder: Path, models: dict[int, tuple], declared: dict[str, Symmetries]) -> None:
    """obj_XXXXXX.ply in millimetres (with vertex normals) and models_info.json (with symmetries)."""
    library = MeshLibrary()
    info = {}
    for obj_id, (primitive, mesh, scale) in sorted(models.items()):
        geometry = library.get(primitive=primitive, mesh=mesh)
        mm_per_unit = scale * 1000.0
        model = trimesh.Trimesh(vertices=geometry.vertices * mm_per_unit, faces=geometry.faces, process=False)
        comment = f"vizsynth {primitive or Path(mesh).name}, millimetres"
        write_bytes_atomic(folder / f"obj_{obj_id:06d}.ply",
                           ply_ascii(model.vertices, model.vertex_normals, model.faces, comment))
        hull = model.convex_hull.vertices
        diameter = max(float(np.linalg.norm(hull[:, None] - hull[None], axis=-1).max()), 0.0)
        low, high = model.bounds
        sizes = {
            "diameter": diameter, "min_x": low[0], "min_y": low[1], "min_z": low[2],
            "size_x": high[0] - low[0], "size_y": high[1] - low[1], "size_z": high[2] - low[2],
        }
        symmetries = (primitive_symmetries(primitive) if primitive
                      else declared.get(str(Path(mesh).resolve()), NO_SYMMETRIES))
        info[str(obj_id)] = {**{k: float(v) for k, v in sizes.items()}, **bop_symmetries(symmetries, mm_per_unit)}
    write_json_atomic(folder / "models_info.json", info)
