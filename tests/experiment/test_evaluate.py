"""Evaluation against real YCB-Video labels: GT back as predictions, empty predictions, name matching, ignores."""

from __future__ import annotations

import copy
import json

import pytest

from tests.helpers import YCBV
from vizsynth.errors import ConfigError
from vizsynth.experiment.evaluate import evaluate_boxes, match_categories
from vizsynth.experiment.realdata import ycbv_to_coco


@pytest.fixture(scope="module")
def real_gt(tmp_path_factory):
    # The in-repo frames have no colour image; box AP needs only the labels, so label.png stands in.
    path = ycbv_to_coco(YCBV / "frames", tmp_path_factory.mktemp("real") / "gt.json", image_file="label.png")
    return json.loads(path.read_text())


def as_detections(annotations, score=1.0):
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": score}
            for a in annotations]


def test_ycbv_conversion_names_categories_after_meta_objects(real_gt):
    names = {c["name"] for c in real_gt["categories"]}
    metas = [json.loads((f / "meta.json").read_text()) for f in sorted((YCBV / "frames").iterdir())]
    assert names == {o["name"] for m in metas for o in m["objects"]} & names
    assert "011_banana" in names and len(real_gt["images"]) == 4
    assert len(real_gt["annotations"]) >= 4 * 3


def test_ground_truth_as_predictions_scores_one_on_real_frames(real_gt):
    metrics = evaluate_boxes(real_gt, as_detections(real_gt["annotations"]))
    assert metrics["AP"] == pytest.approx(1.0)
    assert metrics["AP50"] == pytest.approx(1.0)
    assert metrics["AP75"] == pytest.approx(1.0)
    assert set(metrics["per_category_AP50"]) == {c["name"] for c in real_gt["categories"]}
    assert all(v == pytest.approx(1.0) for v in metrics["per_category_AP50"].values())


def test_empty_predictions_score_zero(real_gt):
    metrics = evaluate_boxes(real_gt, [])
    assert metrics["AP"] == 0.0 and metrics["AP50"] == 0.0 and metrics["AP75"] == 0.0


def test_a_category_never_predicted_counts_as_zero_not_left_out(real_gt):
    # pycocotools alone leaves a category with no detection out of the mean; here it counts 0.
    banana = next(c["id"] for c in real_gt["categories"] if c["name"] == "011_banana")
    dets = as_detections([a for a in real_gt["annotations"] if a["category_id"] != banana])
    metrics = evaluate_boxes(real_gt, dets)
    n = len(real_gt["categories"])
    assert metrics["per_category_AP50"]["011_banana"] == 0.0
    assert metrics["AP50"] == pytest.approx((n - 1) / n)


def test_boxes_shifted_by_half_their_size_miss_at_iou_half(real_gt):
    dets = as_detections(real_gt["annotations"])
    for d in dets:
        x, y, w, h = d["bbox"]
        d["bbox"] = [x + w / 2, y + h / 2, w, h]  # IoU = 1/7 with the true box
    assert evaluate_boxes(real_gt, dets)["AP50"] == 0.0


def test_categories_match_by_name_not_by_id(real_gt):
    # The model knows the names in another order, and some the real set lacks.
    names = ["cube"] + sorted((c["name"] for c in real_gt["categories"]), reverse=True)
    mapping = match_categories(real_gt["categories"], names, "gt.json")
    for category in real_gt["categories"]:
        assert names[mapping[category["id"]] - 1] == category["name"]


def test_unmatched_category_names_are_listed_in_the_error(real_gt):
    names = [c["name"] for c in real_gt["categories"] if c["name"] not in ("011_banana", "025_mug")]
    with pytest.raises(ConfigError, match=r"\['011_banana', '025_mug'\].*matched by name"):
        match_categories(real_gt["categories"], names, "gt.json")


def test_unused_unmatched_categories_are_no_error(real_gt):
    gt = copy.deepcopy(real_gt)
    gt["categories"].append({"id": 99, "name": "never_annotated"})
    used = {a["category_id"] for a in gt["annotations"]}
    mapping = match_categories(gt["categories"], [c["name"] for c in real_gt["categories"]], "gt.json", used)
    assert 99 not in mapping


def test_ignored_objects_neither_count_as_misses_nor_make_detections_false(real_gt):
    gt = copy.deepcopy(real_gt)
    ignored = gt["annotations"][0]
    ignored["ignore"] = 1
    others = [a for a in gt["annotations"] if a is not ignored]
    # Missing the ignored object costs nothing ...
    assert evaluate_boxes(gt, as_detections(others))["AP"] == pytest.approx(1.0)
    # ... and a confident detection on it is not a false positive.
    on_ignored = as_detections([ignored], score=1.0)
    assert evaluate_boxes(gt, on_ignored + as_detections(others, score=0.5))["AP"] == pytest.approx(1.0)
    # Without the ignore flag both cases lose AP: the oracle above is not vacuous.
    assert evaluate_boxes(real_gt, as_detections(others))["AP"] < 1.0
