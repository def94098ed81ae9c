"""COCO (with ignore flags and polygons), YOLO and BOP written from the same frame records."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy import ndimage

import vizsynth
from vizsynth.io.coco import polygons as coco_polygons
from vizsynth.io.yolo import single_polygon

MUG = str(Path(__file__).parents[1] / "data" / "ycbv" / "models" / "025_mug.ply")
CONFIG = {
    "image": {"width": 128, "height": 96},
    "objects": {
        "count": {"uniform": [4, 8]},
        "primitive_size_m": 0.25,  # BOP needs one fixed model per category
        "assets": [{"primitive": "cube"}, {"primitive": "sphere"}, {"primitive": "torus"},
                   {"mesh": MUG, "category": "mug", "unit_scale_m": 1.0, "weight": 2}],
    },
    "camera": {"distance_m": 1.0},
    "annotate": {"min_visibility": 0.4},
    "output": {"formats": ["coco", "yolo", "bop"], "image_format": "png"},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("labels") / "data"
    summary = vizsynth.generate(CONFIG, out, num_frames=10, seed=11, progress=False)
    assert summary.ok
    return out


def _yolo_label(out: Path, image: dict) -> Path:
    """The YOLO label file of a COCO image entry: in yolo/labels/train or yolo/labels/val."""
    name = Path(image["file_name"]).with_suffix(".txt").name
    (label,) = [p for p in (out / "yolo" / "labels" / split / name for split in ("train", "val")) if p.is_file()]
    return label


def _records(out: Path):
    for path in sorted((out / "frames").rglob("*.json")):
        yield json.loads(path.read_text())


@pytest.mark.gl
def test_records_keep_every_object_with_consistent_occlusion_measures(dataset):
    ignored = 0
    for record in _records(dataset):
        anns = record["record"]["annotations"]
        assert [a["instance_id"] for a in anns] == [o["instance_id"] for o in record["objects"]]
        for a in anns:
            assert 0 <= a["area"] <= a["amodal_area"] <= a["silhouette_pixels"]
            assert 0.0 <= a["visibility"] <= 1.0 and 0.0 <= a["truncation"] <= 1.0
            if a["area"]:
                outside = coco_mask.decode(a["segmentation"]) > coco_mask.decode(a["amodal_segmentation"])
                assert not outside.any(), "visible pixels outside the amodal mask"
                assert a["ignore"] == int(a["visibility"] < 0.4)
            ignored += a["ignore"]
    assert ignored > 0, "the config must produce some ignored objects for these tests to mean anything"


def _coco(path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


@pytest.mark.gl
@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
def test_gt_as_predictions_scores_ap_one_with_ignore_flags(dataset, iou_type):
    coco = _coco(dataset / "annotations.json")
    anns = coco.dataset["annotations"]
    assert any(a["iscrowd"] for a in anns) and any(not a["iscrowd"] for a in anns)
    predictions = []
    for a in anns:
        if iou_type == "keypoints" and "keypoints" not in a:
            continue
        predictions.append({k: a[k] for k in ("image_id", "category_id", "bbox", "segmentation", "keypoints")
                            if k in a} | {"score": 1.0})
    if iou_type == "keypoints":
        for cat in coco.dataset["categories"]:
            cat.setdefault("keypoints", [])
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval(coco, coco.loadRes(predictions), iou_type)
        if iou_type == "keypoints":
            evaluator.params.catIds = [1]  # cubes: COCOeval needs one keypoint count across categories
            evaluator.params.kpt_oks_sigmas = np.full(8, 0.05)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)


@pytest.mark.gl
def test_keypoints_follow_coco_conventions(dataset):
    data = json.loads((dataset / "annotations.json").read_text())
    names = {c["id"]: c.get("keypoints", []) for c in data["categories"]}
    assert names[1] == [f"corner_{a}{b}{c}" for a in "-+" for b in "-+" for c in "-+"]
    assert len(next(c for c in data["categories"] if c["id"] == 1)["skeleton"]) == 12
    assert "keypoints" not in next(c for c in data["categories"] if c["name"] == "mug")
    for a in data["annotations"]:
        if a["category_id"] == 1:
            kp = np.array(a["keypoints"]).reshape(-1, 3)
            assert len(kp) == 8 and set(kp[:, 2]) <= {0, 1, 2}
            assert (kp[kp[:, 2] == 0, :2] == 0).all()
            assert a["num_keypoints"] == (kp[:, 2] > 0).sum()


@pytest.mark.gl
def test_yolo_labels_load_back_to_the_coco_objects(dataset):
    data = yaml.safe_load((dataset / "yolo" / "data.yaml").read_text())
    coco = json.loads((dataset / "annotations.json").read_text())
    assert data["names"] == {c["id"] - 1: c["name"] for c in coco["categories"]}
    positives = {}
    for a in coco["annotations"]:
        if not a["ignore"]:
            positives.setdefault(a["image_id"], []).append(a)
    for image in coco["images"]:
        label = _yolo_label(dataset, image)
        lines = [line.split() for line in label.read_text().splitlines()]
        assert len(lines) == len(positives.get(image["id"], []))
        for line in lines:
            assert 0 <= int(line[0]) < len(data["names"])
            values = np.array(line[1:], dtype=float)
            assert len(values) >= 6 and len(values) % 2 == 0, "one polygon per object"
            assert ((values >= 0) & (values <= 1)).all()


@pytest.mark.gl
def test_yolo_detect_boxes_are_the_coco_boxes(tmp_path):
    out = tmp_path / "data"
    config = {**CONFIG, "output": {"formats": ["coco", "yolo"], "yolo_task": "detect"}}
    vizsynth.generate(config, out, num_frames=3, seed=2, progress=False)
    coco = json.loads((out / "annotations.json").read_text())
    for image in coco["images"]:
        expected = sorted(
            [a["category_id"] - 1, (a["bbox"][0] + a["bbox"][2] / 2) / 128, (a["bbox"][1] + a["bbox"][3] / 2) / 96,
             a["bbox"][2] / 128, a["bbox"][3] / 96]
            for a in coco["annotations"] if a["image_id"] == image["id"] and not a["ignore"]
        )
        label = _yolo_label(out, image)
        got = sorted([float(v) for v in line.split()] for line in label.read_text().splitlines())
        np.testing.assert_allclose(got, expected, atol=1e-6)


def _bop_bbox(mask):
    """The BOP toolkit's calc_2d_bbox: [x, y, x_max - x_min, y_max - y_min]."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())]


@pytest.mark.gl
def test_bop_gt_info_matches_the_toolkit_definitions(dataset):
    root = dataset / "bop" / "train_pbr" / "000000"
    cameras = json.loads((root / "scene_camera.json").read_text())
    gts = json.loads((root / "scene_gt.json").read_text())
    infos = json.loads((root / "scene_gt_info.json").read_text())
    assert sorted(cameras, key=int) == [str(i) for i in range(10)]
    checked = 0
    for im_id, entries in infos.items():
        depth = cv2.imread(str(root / "depth" / f"{int(im_id):06d}.png"), cv2.IMREAD_UNCHANGED)
        depth_mm = depth * cameras[im_id]["depth_scale"]
        for gt_id, (info, gt) in enumerate(zip(entries, gts[im_id])):
            mask = cv2.imread(str(root / "mask" / f"{int(im_id):06d}_{gt_id:06d}.png"), cv2.IMREAD_GRAYSCALE) > 0
            visib = cv2.imread(str(root / "mask_visib" / f"{int(im_id):06d}_{gt_id:06d}.png"), cv2.IMREAD_GRAYSCALE) > 0
            assert info["px_count_visib"] == visib.sum()
            assert info["px_count_valid"] == (depth_mm[mask] > 0).sum()
            assert info["px_count_all"] >= mask.sum()
            expected_fract = info["px_count_visib"] / info["px_count_all"] if info["px_count_all"] else 0.0
            assert info["visib_fract"] == pytest.approx(expected_fract)
            if info["px_count_visib"] > 0:
                assert info["bbox_visib"] == _bop_bbox(visib)
                if info["px_count_all"] == mask.sum():  # not truncated: the full box is the mask's
                    assert info["bbox_obj"] == _bop_bbox(mask)
                checked += 1
            else:
                assert info["bbox_obj"] == info["bbox_visib"] == [-1, -1, -1, -1]
            assert 1 <= gt["obj_id"] <= 4 and len(gt["cam_R_m2c"]) == 9
    assert checked > 20
    models = json.loads((dataset / "bop" / "models" / "models_info.json").read_text())
    mug = models["4"]
    assert 100 < mug["diameter"] < 200, "the YCB mug's diameter in millimetres"


@pytest.fixture(scope="module")
def polygon_dataset(tmp_path_factory):
    """COCO polygons and YOLO segment labels of objects of 32x32 px and more (tori among them)."""
    out = tmp_path_factory.mktemp("polygons") / "data"
    config = {**CONFIG, "image": {"width": 192, "height": 144},
              "output": {"formats": ["coco", "yolo"], "coco_segmentation": "polygon", "image_format": "png"}}
    assert vizsynth.generate(config, out, num_frames=8, seed=3, progress=False).ok
    return out


def _instance_masks(out: Path, coco: dict):
    """Yields (annotation, its YOLO line or None, its instance mask) for every COCO annotation."""
    for image in coco["images"]:
        ids = cv2.imread(str(out / "instances" / image["instances_file"]), cv2.IMREAD_UNCHANGED)
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        lines = iter(_yolo_label(out, image).read_text().splitlines())
        for a in anns:  # YOLO lines are the non-ignored objects, in the same record order
            yield a, None if a["ignore"] else next(lines), ids == a["vizsynth_instance_id"]


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.gl
def test_coco_polygons_rasterise_back_to_the_masks_holes_included_in_pycocotools(polygon_dataset):
    coco = _coco(polygon_dataset / "annotations.json")
    large, holes = 0, 0
    for ann, _, truth in _instance_masks(polygon_dataset, coco.dataset):
        assert isinstance(ann["segmentation"], list) and all(len(p) >= 8 for p in ann["segmentation"])
        polygon = coco.annToMask(ann).astype(bool)
        assert np.array_equal(polygon, truth), f"annotation {ann['id']}"
        assert ann["area"] == truth.sum()
        holes += int(ndimage.binary_fill_holes(truth).sum() > truth.sum())
        large += int(ann["bbox"][2] >= 32 and ann["bbox"][3] >= 32)
    assert holes > 0 and large >= 15, "the dataset must have objects with holes and large objects"


@pytest.mark.gl
def test_yolo_polygons_rasterise_back_to_the_masks_in_ultralytics(polygon_dataset):
    polygon2mask = pytest.importorskip("ultralytics.data.utils", reason="ultralytics is not installed").polygon2mask
    coco = json.loads((polygon_dataset / "annotations.json").read_text())
    ious, exact, holes = [], 0, 0
    for ann, line, truth in _instance_masks(polygon_dataset, coco):
        if line is None:
            continue
        h, w = truth.shape
        points = np.array(line.split()[1:], float).reshape(-1, 2) * [w, h]
        polygon = polygon2mask((h, w), [points.ravel()]).astype(bool)
        # One polygon per object: the zero-width bridges to holes and to the other parts of a
        # split mask are drawn as 1-pixel lines, the only pixels it may add.
        assert not (truth & ~polygon).any()
        exact += np.array_equal(polygon, truth)
        holes += int(ndimage.binary_fill_holes(truth).sum() > truth.sum())
        if ann["bbox"][2] >= 32 and ann["bbox"][3] >= 32:
            ious.append(_iou(polygon, truth))
    assert exact >= 15 and len(ious) >= 15 and holes > 0
    assert np.median(ious) >= 0.98 and np.percentile(ious, 5) >= 0.9


def test_bridged_rings_give_back_random_masks_with_holes_in_both_rasterisers():
    """Independent of rendering: masks of overlapping discs with holes punched in and single-pixel
    noise (1-pixel holes and islands) come back exactly through pycocotools and, but for pixels
    on the polygon's own edges (the bridges' lines), through cv2.fillPoly as ultralytics calls it."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        mask = np.zeros((50, 60), np.uint8)
        for value, radii in ((1, (8, 18)), (0, (2, 6))):
            for _ in range(3):
                centre = (int(rng.integers(8, 52)), int(rng.integers(8, 42)))
                cv2.circle(mask, centre, int(rng.integers(*radii)), value, -1)
        mask[rng.random(mask.shape) < 0.02] ^= 1
        truth = mask.astype(bool)
        rle = coco_mask.encode(np.asfortranarray(mask))
        rings = coco_polygons(rle)
        back = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(rings, *mask.shape))).astype(bool)
        assert np.array_equal(back, truth)
        polygon = [single_polygon(mask).astype(np.int32)]
        filled, edges = np.zeros_like(mask), np.zeros_like(mask)
        cv2.fillPoly(filled, polygon, 1)
        cv2.polylines(edges, polygon, True, 1)
        filled = filled.astype(bool)
        assert not (truth & ~filled).any() and not (filled & ~truth & ~edges.astype(bool)).any()


@pytest.mark.parametrize("change, fragment", [
    ({"objects": {**CONFIG["objects"], "primitive_size_m": {"uniform": [0.1, 0.2]}}}, "primitive_size_m must be a constant"),
    ({"annotate": {"amodal": False}}, "annotate.amodal must be true"),
])
def test_bop_refuses_configs_without_fixed_models_before_rendering(tmp_path, change, fragment):
    from vizsynth.errors import ConfigError

    out = tmp_path / "data"
    with pytest.raises(ConfigError, match=fragment):
        vizsynth.generate({**CONFIG, **change}, out, num_frames=2, progress=False)
    assert not out.exists()


def test_every_configurable_format_has_one_registered_writer():
    from typing import get_args

    from vizsynth.config import OutputConfig
    from vizsynth.io.labels import WRITERS

    item, _ = get_args(OutputConfig.model_fields["formats"].annotation)  # tuple[Literal[...], ...]
    assert set(get_args(item)) == set(WRITERS)
    assert all(name == writer.name for name, writer in WRITERS.items())


# Run apart: torch loaded into a process that already holds an EGL context crashes on import.
TORCHVISION_RESIZE = """
import json, sys
import numpy as np, torchvision
from torchvision.transforms import v2
root = sys.argv[1]
coco = torchvision.datasets.CocoDetection(root + "/images", root + "/annotations.json")
wrapped = torchvision.datasets.wrap_dataset_for_transforms_v2(coco, target_keys=("boxes", "image_id"))
resize = v2.Resize((48, 64))  # half of 96 x 128
print(json.dumps({t["image_id"]: t["boxes"].tolist() for t in (resize(*wrapped[i])[1] for i in range(3))}))
"""


@pytest.mark.gl
def test_coco_boxes_are_floats_that_torchvision_v2_resize_scales_without_truncating(dataset):
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed (the train extra)")
    data = json.loads((dataset / "annotations.json").read_text())
    assert all(type(v) is float for a in data["annotations"] for v in a["bbox"])
    proc = subprocess.run([sys.executable, "-c", TORCHVISION_RESIZE, str(dataset)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    resized = json.loads(proc.stdout.splitlines()[-1])
    checked = 0
    for image_id, boxes in resized.items():
        expected = [[x / 2, y / 2, (x + w) / 2, (y + h) / 2]
                    for a in data["annotations"] if a["image_id"] == int(image_id) for x, y, w, h in [a["bbox"]]]
        np.testing.assert_allclose(np.array(boxes).reshape(-1, 4), np.array(expected).reshape(-1, 4), atol=1e-5)
        checked += len(expected)
    assert checked > 0


@pytest.mark.gl
def test_yolo_tree_has_the_ultralytics_layout_with_hard_linked_images_and_hashed_splits(dataset):
    from vizsynth.io.yolo import yolo_split

    root = dataset / "yolo"
    data = yaml.safe_load((root / "data.yaml").read_text())
    assert "path" not in data and data["train"] == "images/train" and data["val"] == "images/val"
    assert not any(Path(v).is_absolute() for v in (data["train"], data["val"]))
    coco = json.loads((dataset / "annotations.json").read_text())
    for image in coco["images"]:
        split = yolo_split(image["frame_index"], 0.1)
        name = Path(image["file_name"]).name
        linked = root / "images" / split / name
        assert linked.read_bytes() == (dataset / "images" / image["file_name"]).read_bytes()
        assert linked.stat().st_ino == (dataset / "images" / image["file_name"]).stat().st_ino, "a hard link"
        assert (root / "labels" / split / name).with_suffix(".txt").is_file()
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert len(files) == 1 + 2 * len(coco["images"])


def test_yolo_splits_follow_the_fraction_and_depend_on_the_index_alone():
    from vizsynth.io.yolo import yolo_split

    splits = [yolo_split(i, 0.2) for i in range(5000)]
    assert 0.18 < splits.count("val") / 5000 < 0.22
    assert splits[1234] == yolo_split(1234, 0.2)
    assert all(yolo_split(i, 0.0) == "train" and yolo_split(i, 1.0) == "val" for i in range(100))
    # A larger fraction only moves frames into val: growing a val set never shuffles it.
    assert all(yolo_split(i, 0.3) == "val" for i in range(5000) if splits[i] == "val")


@pytest.mark.gl
def test_a_copied_yolo_dataset_reads_its_own_files_in_ultralytics(dataset, tmp_path):
    utils = pytest.importorskip("ultralytics.data.utils", reason="ultralytics is not installed")
    import shutil

    copy = tmp_path / "moved"
    shutil.copytree(dataset, copy)
    data = utils.check_det_dataset(str(copy / "yolo" / "data.yaml"))
    assert Path(data["train"]) == (copy / "yolo" / "images" / "train").resolve()
    assert Path(data["val"]) == (copy / "yolo" / "images" / "val").resolve()
    categories = json.loads((copy / "annotations.json").read_text())["categories"]
    assert data["names"] == {c["id"] - 1: c["name"] for c in categories}


# Names FiftyOne reserves on Detection objects (its COCO importer, extra_attrs=True by default,
# stops on an extra annotation key among them) and the COCO keys its importer reads itself.
FIFTYONE_RESERVED = {"id", "label", "bounding_box", "mask", "mask_path", "confidence", "index", "attributes", "tags",
                     "filepath", "instance", "instance_id"}
COCO_STANDARD = {"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd", "keypoints",
                 "num_keypoints", "score"}


@pytest.mark.gl
def test_extra_coco_annotation_keys_avoid_names_fiftyone_reserves(dataset):
    data = json.loads((dataset / "annotations.json").read_text())
    extra = {k for a in data["annotations"] for k in a} - COCO_STANDARD
    assert "vizsynth_instance_id" in extra and "visibility" in extra
    assert not extra & FIFTYONE_RESERVED and not any(k.startswith("_") for k in extra)
    records = {json.loads(p.read_text())["record"]["index"]: json.loads(p.read_text())["record"]["annotations"]
               for p in (dataset / "frames").rglob("*.json")}
    assert all("instance_id" in a for anns in records.values() for a in anns), "frame records keep instance_id"
