"""The experiment loop: per variant generate, train each repeat, evaluate; then report. Resumable.

    OUT/spec.json                      the resolved experiment (a rerun must match it)
    OUT/real/<set>/annotations.json    each real set as COCO (converted frames or a copy)
    OUT/variants/<v>/data/             the variant's dataset (vizsynth generate)
    OUT/variants/<v>/seed<s>/          checkpoint.pt while training; model_final.pt, history.json,
                                       metrics.json when done (a repeat with metrics.json is not redone)
    OUT/variants/<v>/result.json       the variant's runs and mean ± std (a variant with it is not redone)
    OUT/results.json, results.md, ap50.png, curves/<v>.png, predictions/<v>/<set>_<i>.jpg
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from vizsynth.errors import OutputError
from vizsynth.experiment import report
from vizsynth.experiment.data import make_variant_data, split_coco, variant_overrides
from vizsynth.experiment.evaluate import evaluate_boxes, match_categories
from vizsynth.experiment.realdata import CocoSet, load_coco, ycbv_to_coco
from vizsynth.experiment.spec import ExperimentSpec, Variant, first_existing

# Fields that may change between a run and its resumption: they change speed or display, not results.
_FREE_FIELDS = {"workers", "preview_images", "preview_score"}
_FREE_TRAIN_FIELDS = {"device", "loader_workers", "amp"}


def run_experiment(spec: ExperimentSpec, out_dir: str | os.PathLike, *, progress: bool = True) -> dict:
    """Runs (or resumes) an experiment and writes its results into out_dir.

    Args:
        spec: the experiment (see ``load_experiment``).
        out_dir: its folder; a rerun continues where a stopped one ended: finished variants and
            repeats are kept, a training resumes from its last checkpoint.
        progress: tqdm bars on stderr.

    Returns:
        The results dict (also written to ``out_dir/results.json``).

    Raises:
        VizsynthError: torch missing, a bad config or real set (categories that match no synthetic
            category by name), or an out_dir holding a different experiment.
    """
    from vizsynth.experiment.train import require_torch, resolve_device

    require_torch()  # before anything is generated
    out = Path(out_dir)
    _claim(out, spec)
    device = resolve_device(spec.train.device)
    real_sets = [_prepare_real_set(r, out / "real" / r.name) for r in spec.real_sets]
    variants = []
    for variant in spec.variants:
        done = out / "variants" / variant.name / "result.json"
        if done.is_file():
            variants.append(json.loads(done.read_text()))
            continue
        variants.append(_run_variant(spec, variant, out, real_sets, device, progress))
        _write_json(done, variants[-1])
    results = {
        "spec": spec.model_dump(mode="json"),
        "device": device,
        "real_sets": [{"name": r.name, "annotations": str(r.annotations), "images": str(r.images)} for r in real_sets],
        "variants": variants,
    }
    _write_json(out / "results.json", results)
    _write_text(out / "results.md", report.markdown_table(variants))
    report.bar_plot(variants, out / "ap50.png")
    for v in variants:
        report.curve_plot(v, out / "curves" / f"{v['name']}.png")
    return results


def _claim(out: Path, spec: ExperimentSpec) -> None:
    """Records the spec in out (new folder) or checks it against the recorded one (resume)."""
    recorded = out / "spec.json"
    current = spec.model_dump(mode="json")
    if recorded.is_file():
        before = json.loads(recorded.read_text())
        differ = sorted(k for k in set(before) | set(current)
                        if k not in _FREE_FIELDS and k != "train" and before.get(k) != current.get(k))
        differ += sorted(f"train.{k}" for k in set(before.get("train", {})) | set(current["train"])
                         if k not in _FREE_TRAIN_FIELDS and before["train"].get(k) != current["train"].get(k))
        if differ:
            raise OutputError(f"{out} holds an experiment with other settings ({', '.join(differ)} differ); "
                              "use another --out, or the same settings to resume it")
    elif out.exists() and any(out.iterdir()):
        raise OutputError(f"{out} is not empty and holds no experiment (no spec.json); use an empty or new folder")
    _write_json(recorded, current)


def _prepare_real_set(real, folder: Path) -> CocoSet:
    if real.ycbv_frames:
        frames = first_existing(real.ycbv_frames, f"real set {real.name!r} ycbv_frames")
        target = folder / "annotations.json"
        if not target.is_file():
            ycbv_to_coco(frames, target)
        return CocoSet(real.name, target, frames)
    source = first_existing(real.coco, f"real set {real.name!r} coco")
    images = first_existing(real.images, f"real set {real.name!r} images") if real.images else source.parent
    load_coco(source)  # checked now, not after the first training
    return CocoSet(real.name, source, images)


def _run_variant(spec: ExperimentSpec, variant: Variant, out: Path, real_sets: list[CocoSet], device: str,
                 progress: bool) -> dict:
    from vizsynth.experiment.train import CocoBoxes, load_trained, predict, train_detector

    root = out / "variants" / variant.name
    if progress:
        sys.stderr.write(f"variant {variant.name}: generating {spec.frames_per_variant} frames\n")
    data = make_variant_data(spec, variant, root / "data", progress=progress)
    coco = load_coco(data.folder / "annotations.json")
    train_coco, val_coco = split_coco(coco, data.num_frames, data.num_val)
    categories = sorted(coco["categories"], key=lambda c: c["id"])
    names = [c["name"] for c in categories]
    labels = {c["id"]: i + 1 for i, c in enumerate(categories)}
    val_map = {label: cat for cat, label in labels.items()}
    evals = {"synthetic_val": (val_coco, data.folder / "images", val_map)}
    for real in real_sets:
        gt = load_coco(real.annotations)
        used = {a["category_id"] for a in gt["annotations"]}
        matched = match_categories(gt["categories"], names, str(real.annotations), used)
        evals[real.name] = (gt, real.images, {label: cat for cat, label in matched.items()})
    train_set = CocoBoxes(train_coco, data.folder / "images", labels)

    def val_eval(model):
        detections, _ = predict(model, val_coco, data.folder / "images", val_map, device)
        return evaluate_boxes(val_coco, detections)

    runs = []
    for repeat in range(spec.train.repeats):
        seed = spec.train.seed + repeat
        run_dir = root / f"seed{seed}"
        metrics_file = run_dir / "metrics.json"
        if metrics_file.is_file():
            runs.append(json.loads(metrics_file.read_text()))
            continue
        result = train_detector(spec.train, train_set, len(names), run_dir, seed, device=device,
                                val_eval=val_eval, progress=progress)
        model = load_trained(spec.train, len(names), result.weights, device)
        began = time.monotonic()
        metrics = {}
        for name, (gt, images, label_map) in evals.items():
            keep = spec.preview_images if (repeat == 0 and name != "synthetic_val") else 0
            detections, kept = predict(model, gt, images, label_map, device, progress=progress,
                                       desc=f"eval {variant.name} {name}", keep_images=keep)
            metrics[name] = evaluate_boxes(gt, detections)
            for n, (image_id, (boxes, scores, labs)) in enumerate(kept.items()):
                entry = next(im for im in gt["images"] if im["id"] == image_id)
                gt_boxes = [a["bbox"] for a in gt["annotations"] if a["image_id"] == image_id]
                report.draw_predictions(images / entry["file_name"], gt_boxes, boxes, scores,
                                        [names[int(lab) - 1] for lab in labs], spec.preview_score,
                                        out / "predictions" / variant.name / f"{name}_{n}.jpg")
        run = {"seed": seed, "train_seconds": result.seconds, "eval_seconds": time.monotonic() - began,
               "pretrained": result.pretrained.to_dict(), "device": device, "history": result.history,
               "eval": metrics}
        _write_json(metrics_file, run)
        runs.append(run)
    return {"name": variant.name, "overrides": list(variant.set), "all_overrides": variant_overrides(spec, variant),
            "data": {"folder": str(data.folder), "frames": data.num_frames, "val_frames": data.num_val,
                     "categories": names},
            "runs": runs, "summary": report.aggregate_runs(runs)}


def _write_json(path: Path, data: dict) -> None:
    _write_text(path, json.dumps(data, indent=1))


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)

