"""Our COCO output read back by pycocotools: masks equal our instance maps, GT scores AP = 1."""

from __future__ import annotations

import contextlib
import io
import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import vizsynth

pytestmark = pytest.mark.gl  # every test here renders

CONFIG = {
    "image": {"width": 96, "height": 72},
    "objects": {"count": {"uniform": [4, 8]}},
    "output": {"image_format": "png"},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("coco") / "data"
    summary = vizsynth.generate(CONFIG, out, num_frames=8, seed=5, progress=False)
    assert summary.ok and summary.num_annotations > 20
    return out


def _coco(path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def test_ann_to_mask_equals_instance_map(dataset):
    coco = _coco(dataset / "annotations.json")
    checked = 0
    for image in coco.dataset["images"]:
        ids = cv2.imread(str(dataset / "instances" / image["instances_file"]), cv2.IMREAD_UNCHANGED)
        assert ids.dtype == np.uint16 and ids.shape == (image["height"], image["width"])
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
        assert sorted(a["vizsynth_instance_id"] for a in anns) == sorted(set(np.unique(ids)) - {0})
        for ann in anns:
            mask = coco.annToMask(ann).astype(bool)
            np.testing.assert_array_equal(mask, ids == ann["vizsynth_instance_id"])
            ys, xs = np.nonzero(mask)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert ann["area"] == mask.sum()
            checked += 1
    assert checked == len(coco.dataset["annotations"])


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_ground_truth_as_predictions_scores_ap_one(dataset, iou_type):
    coco = _coco(dataset / "annotations.json")
    predictions = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
         "segmentation": a["segmentation"], "score": 1.0}
        for a in coco.dataset["annotations"]
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval(coco, coco.loadRes(predictions), iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)  # AP@[.5:.95]
    assert evaluator.stats[1] == pytest.approx(1.0)  # AP@.5


def test_depth_png_matches_poses(dataset):
    """Depth of each object's pixels lies within its bounding sphere's z range (pose x depth)."""
    data = json.loads((dataset / "annotations.json").read_text())
    for image in data["images"]:
        depth = cv2.imread(str(dataset / "depth" / image["depth_file"]), cv2.IMREAD_UNCHANGED) * image["depth_scale_m"]
        ids = cv2.imread(str(dataset / "instances" / image["instances_file"]), cv2.IMREAD_UNCHANGED)
        record = json.loads((dataset / "frames" / image["file_name"].replace(".png", ".json")).read_text())
        scale = {o["instance_id"]: o["mesh_scale"] for o in record["objects"]}
        assert ((depth > 0) == (ids > 0)).all()
        for ann in (a for a in data["annotations"] if a["image_id"] == image["id"]):
            z = np.asarray(ann["obj_to_cam"])[2, 3]
            radius = scale[ann["vizsynth_instance_id"]] * np.sqrt(3) / 2  # unit primitives fit in a unit cube
            values = depth[ids == ann["vizsynth_instance_id"]]
            assert values.min() >= z - radius - 1e-3 and values.max() <= z + radius + 1e-3
