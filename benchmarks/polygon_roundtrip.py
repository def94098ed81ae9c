"""How exactly COCO and YOLO polygons rasterise back to the instance masks, in the readers' own code.

    PYTHONPATH=$PWD python benchmarks/polygon_roundtrip.py [--out DIR]

Generates the dataset of ``tests/io/test_label_writers.py``'s ``polygon_dataset`` fixture (its
CONFIG at 192x144, COCO polygons and YOLO segment labels, PNG images, 8 frames, seed 3), then for
every object whose visible box is 32x32 px or more compares the mask each reader draws from the
written polygons with the object's pixels in the instance PNG:
  - pycocotools: ``COCO.annToMask`` of each ``annotations.json`` entry (ignored ones included);
  - ultralytics (when installed): ``ultralytics.data.utils.polygon2mask`` of each YOLO segment
    line (the labelled, non-ignored objects).
Prints per reader the number of objects, how many come back pixel for pixel, and the median, 5th
percentile and worst IoU. These are the numbers the README's COCO and YOLO sections quote.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package, for its CONFIG

import vizsynth  # noqa: E402
from tests.io.test_label_writers import CONFIG  # noqa: E402

MIN_SIDE_PX = 32
NUM_FRAMES, SEED, WIDTH, HEIGHT = 8, 3, 192, 144


def generate(out: Path) -> None:
    """The polygon_dataset fixture's dataset, written to ``out``."""
    config = {**CONFIG, "image": {"width": WIDTH, "height": HEIGHT},
              "output": {"formats": ["coco", "yolo"], "coco_segmentation": "polygon", "image_format": "png"}}
    summary = vizsynth.generate(config, out, num_frames=NUM_FRAMES, seed=SEED, progress=False)
    if not summary.ok:
        raise SystemExit(f"generating {out} failed: {summary}")


def _yolo_lines(out: Path, image: dict) -> list[str]:
    name = Path(image["file_name"]).with_suffix(".txt").name
    (label,) = [p for p in (out / "yolo" / "labels" / s / name for s in ("train", "val")) if p.is_file()]
    return label.read_text().splitlines()


def _large(ann: dict) -> bool:
    return ann["bbox"][2] >= MIN_SIDE_PX and ann["bbox"][3] >= MIN_SIDE_PX


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def measure(out: Path) -> dict[str, list[tuple[float, bool]]]:
    """(IoU, exact) per large object, per reader."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints its loading times
        coco = COCO(str(out / "annotations.json"))
    try:
        from ultralytics.data.utils import polygon2mask
    except ImportError:
        polygon2mask = None
    results: dict[str, list[tuple[float, bool]]] = {"pycocotools annToMask": []}
    if polygon2mask is not None:
        results["ultralytics polygon2mask"] = []
    for image in coco.dataset["images"]:
        ids = cv2.imread(str(out / "instances" / image["instances_file"]), cv2.IMREAD_UNCHANGED)
        anns = [a for a in coco.dataset["annotations"] if a["image_id"] == image["id"]]
        lines = iter(_yolo_lines(out, image))  # the non-ignored objects, in record order
        for ann in anns:
            truth = ids == ann["vizsynth_instance_id"]
            line = None if ann["ignore"] else next(lines)
            if not _large(ann):
                continue
            drawn = coco.annToMask(ann).astype(bool)
            results["pycocotools annToMask"].append((_iou(drawn, truth), bool(np.array_equal(drawn, truth))))
            if polygon2mask is not None and line is not None:
                h, w = truth.shape
                points = np.array(line.split()[1:], float).reshape(-1, 2) * [w, h]
                drawn = polygon2mask((h, w), [points.ravel()]).astype(bool)
                results["ultralytics polygon2mask"].append((_iou(drawn, truth), bool(np.array_equal(drawn, truth))))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="dataset folder to write (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "data"
        generate(out)
        results = measure(out)
    print(f"{NUM_FRAMES} frames, {WIDTH}x{HEIGHT}, seed {SEED}; objects with a visible box of "
          f"{MIN_SIDE_PX}x{MIN_SIDE_PX} px or more")
    for reader, rows in results.items():
        ious = np.array([iou for iou, _ in rows])
        exact = sum(e for _, e in rows)
        print(f"{reader}: {len(rows)} objects, {exact} exact, IoU median {np.median(ious):.3f}, "
              f"5th percentile {np.percentile(ious, 5):.3f}, worst {ious.min():.3f}")
    if "ultralytics polygon2mask" not in results:
        print("ultralytics polygon2mask: not measured (ultralytics is not installed)")


if __name__ == "__main__":
    main()
