"""The label writers: one registry entry per format, each written from the frame records after the frames.

To add a format: a module in ``vizsynth/io`` with its writer (and check), one ``LabelWriter`` in
``WRITERS``, and its name in ``OutputConfig.formats``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vizsynth.assets.keypoints import NO_KEYPOINTS, KeypointSchema
from vizsynth.config import OutputConfig
from vizsynth.io.bop import check_bop_config, write_bop
from vizsynth.io.coco import CocoWriter, write_coco
from vizsynth.io.tracks import check_mot_config, write_mot
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


@dataclass(frozen=True)
class LabelWriter:
    """One label format (a name in ``output.formats``): what it needs from a config, checked before
    anything is rendered, and how it is written from the frame records after the frames.

    Attributes:
        name: the format's name in ``output.formats``.
        write: ``write(out_dir, indices, categories, output, info, report) -> labels written``.
        check: ``check(config, catalog)`` raising ConfigError, or None when any config will do.
    """

    name: str
    write: Callable[[Path, Sequence[int], list[dict], OutputConfig, dict, ValidationReport | None], int]
    check: Callable | None = None


WRITERS: dict[str, LabelWriter] = {w.name: w for w in (
    LabelWriter("coco", lambda out, indices, categories, output, info, report: write_coco(
        out, indices, categories, info, output.coco_segmentation, report)),
    LabelWriter("yolo", lambda out, indices, categories, output, info, report: write_yolo(
        out, indices, categories, output.yolo_task, output.yolo_val_fraction)),
    LabelWriter("bop", lambda out, indices, categories, output, info, report: write_bop(out, indices, categories),
                check=check_bop_config),
    LabelWriter("mot", lambda out, indices, categories, output, info, report: write_mot(out, indices),
                check=check_mot_config),
)}


def check_label_formats(config, catalog) -> None:
    """Runs each configured writer's check of the config and asset catalog (before rendering).

    Raises:
        ConfigError: from the first writer whose needs the config does not meet.
    """
    for name in config.output.formats:
        if WRITERS[name].check is not None:
            WRITERS[name].check(config, catalog)


def write_labels(out_dir: Path, indices: Sequence[int], categories: list[dict], output: OutputConfig,
                 info: dict, report: ValidationReport | None = None,
                 coco: CocoWriter | None = None) -> dict[str, int]:
    """Writes each format in ``output.formats`` (in registry order); returns {format: labels written}.

    ``report`` collects the cheap validation of the COCO annotations as they are written. ``coco``:
    a COCO writer a job has already given the first of ``indices`` while it rendered (it gets the
    rest and is finished here, instead of the registry's writer).
    """
    return {name: write_coco(out_dir, indices, categories, info, output.coco_segmentation, report, started=coco)
            if name == "coco" and coco is not None else writer.write(out_dir, indices, categories, output, info, report)
            for name, writer in WRITERS.items() if name in output.formats}
