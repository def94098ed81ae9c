"""write_labels: every configured label format, from the frame records, after the frames."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vizsynth.assets.keypoints import NO_KEYPOINTS, KeypointSchema
from vizsynth.config import OutputConfig
from vizsynth.io.bop import write_bop
from vizsynth.io.coco import write_coco
from vizsynth.io.yolo import write_yolo
from vizsynth.validate import ValidationReport


def coco_categories(names: Sequence[str], keypoints: dict[str, KeypointSchema]) -> list[dict]:
    """COCO category dicts, ids 1.. in order, with keypoint names and skeleton where defined."""
    out = []
    for i, name in enumerate(names):
        entry = {"id": i + 1, "name": name, "supercategory": ""}
        schema = keypoints.get(name, NO_KEYPOINTS)
        if schema.names:
            entry["keypoints"] = list(schema.names)
            entry["skeleton"] = [list(pair) for pair in schema.skeleton]
        out.append(entry)
    return out


def write_labels(out_dir: Path, indices: Sequence[int], categories: list[dict], output: OutputConfig,
                 info: dict, report: ValidationReport | None = None) -> dict[str, int]:
    """Writes each format in ``output.formats``; returns {format: labels written}.

    ``report`` collects the cheap validation of the COCO annotations as they are written.
    """
    counts = {}
    if "coco" in output.formats:
        counts["coco"] = write_coco(out_dir, indices, categories, info, output.coco_segmentation, report)
    if "yolo" in output.formats:
        counts["yolo"] = write_yolo(out_dir, indices, categories, output.yolo_task)
    if "bop" in output.formats:
        counts["bop"] = write_bop(out_dir, indices, categories)
    return counts
