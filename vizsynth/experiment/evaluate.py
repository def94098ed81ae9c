"""Box AP with pycocotools: categories matched by name, ignored objects as COCO crowd regions.

Metrics are COCO's (101-point interpolated precision, IoU 0.50:0.95, all areas, 100 detections),
with one change: a category that has ground truth but no detection at all scores 0, where
pycocotools leaves it out of the mean (which would reward a model for never predicting a class).
"""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np

from vizsynth.errors import ConfigError


def match_categories(gt_categories: list[dict], model_names: list[str], source: str,
                     used_ids: set[int] | None = None) -> dict[int, int]:
    """Maps a ground-truth file's category ids to model labels by category name.

    Args:
        gt_categories: the COCO ``categories`` of the evaluation set.
        model_names: the model's class names; label ``i + 1`` is ``model_names[i]`` (0 = background).
        source: the evaluation set's file, for the message.
        used_ids: category ids that hold annotations; only those must match (None: all).

    Returns:
        ``{gt category id: model label}`` for every matched category.

    Raises:
        ConfigError: listing every used category name the model does not know, and the names it knows.
    """
    labels = {name: i + 1 for i, name in enumerate(model_names)}
    unmatched = sorted(c["name"] for c in gt_categories
                       if c["name"] not in labels and (used_ids is None or c["id"] in used_ids))
    if unmatched:
        raise ConfigError(f"{source}: categories {unmatched} have no category of the same name in the synthetic "
                          f"data (its categories: {sorted(labels)}); categories are matched by name")
    return {c["id"]: labels[c["name"]] for c in gt_categories if c["name"] in labels}


def gt_for_eval(coco: dict) -> dict:
    """A copy of a COCO dict where ignored objects (vizsynth's ``ignore``) are crowd regions
    (``iscrowd = 1``), so COCOeval counts neither a detection on them nor missing them."""
    out = {k: v for k, v in coco.items() if k != "annotations"}
    out["annotations"] = []
    for ann in coco["annotations"]:
        ann = copy.copy(ann)
        ann["iscrowd"] = int(bool(ann.get("iscrowd", 0)) or bool(ann.get("ignore", 0)))
        ann.setdefault("area", float(ann["bbox"][2] * ann["bbox"][3]))
        ann.pop("segmentation", None)  # box AP only; crowd RLE of another size would confuse loadRes
        out["annotations"].append(ann)
    out.setdefault("info", {})
    out.setdefault("licenses", [])
    return out


def evaluate_boxes(gt: dict, detections: list[dict]) -> dict:
    """COCO box AP of detections against ground truth.

    Args:
        gt: a COCO dict (ignored objects are treated as crowd, see ``gt_for_eval``).
        detections: ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` in gt's ids.

    Returns:
        ``{"AP", "AP50", "AP75": float in [0, 1], "per_category_AP50": {name: float},
        "num_images", "num_gt", "num_detections"}``; categories without (non-crowd) ground truth
        are left out of every mean.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = gt_for_eval(gt)
    names = {c["id"]: c["name"] for c in gt["categories"]}
    counted = [a for a in gt["annotations"] if not a["iscrowd"]]
    with_gt = sorted({a["category_id"] for a in counted})
    summary = {"num_images": len(gt["images"]), "num_gt": len(counted), "num_detections": len(detections)}
    if not with_gt:
        return {"AP": None, "AP50": None, "AP75": None, "per_category_AP50": {}, **summary}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = COCO()
        coco_dt.dataset = {"images": gt["images"], "categories": gt["categories"], "annotations": [
            {"id": i + 1, "image_id": d["image_id"], "category_id": d["category_id"], "score": float(d["score"]),
             "bbox": [float(v) for v in d["bbox"]], "area": float(d["bbox"][2] * d["bbox"][3]), "iscrowd": 0}
            for i, d in enumerate(detections)
        ]}
        coco_dt.createIndex()
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        evaluator.params.catIds = with_gt
        evaluator.evaluate()
        evaluator.accumulate()
    # precision: (IoU thresholds, recall points, categories, area ranges, max dets); -1 = nothing to measure.
    # Area "all" (0) and 100 detections (-1); a category with GT and no detection stays -1: it is 0.
    precision = np.maximum(evaluator.eval["precision"][:, :, :, 0, -1], 0.0)
    per_cat_iou = precision.mean(axis=1)  # (IoU thresholds, categories)
    iou50 = int(np.argmin(np.abs(evaluator.params.iouThrs - 0.5)))
    iou75 = int(np.argmin(np.abs(evaluator.params.iouThrs - 0.75)))
    return {
        "AP": float(per_cat_iou.mean()),
        "AP50": float(per_cat_iou[iou50].mean()),
        "AP75": float(per_cat_iou[iou75].mean()),
        "per_category_AP50": {names[c]: float(per_cat_iou[iou50, k]) for k, c in enumerate(with_gt)},
        **summary,
    }
