"""The experiment's outputs for people: a Markdown table, a bar plot, training curves, drawn predictions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

METRICS = ("AP", "AP50", "AP75")


def summarize(values: list[float | None]) -> dict:
    """Mean and sample standard deviation (ddof 1; 0 for one value) of the values that are not None."""
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return {"mean": None, "std": None, "values": list(values)}
    std = float(np.std(kept, ddof=1)) if len(kept) > 1 else 0.0
    return {"mean": float(np.mean(kept)), "std": std, "values": list(values)}


def aggregate_runs(runs: list[dict]) -> dict:
    """mean ± std over a variant's repeats, per evaluation set ('synthetic_val' and each real set).

    Args:
        runs: each repeat's metrics (``{"eval": {set name: evaluate_boxes result}, "train_seconds"}``).
    """
    sets = list(runs[0]["eval"])
    out: dict = {"train_seconds": summarize([r["train_seconds"] for r in runs]), "eval": {}}
    for name in sets:
        entry = {m: summarize([r["eval"][name][m] for r in runs]) for m in METRICS}
        categories = sorted({c for r in runs for c in r["eval"][name]["per_category_AP50"]})
        entry["per_category_AP50"] = {
            c: summarize([r["eval"][name]["per_category_AP50"].get(c) for r in runs]) for c in categories}
        out["eval"][name] = entry
    return out


def _fmt(stat: dict) -> str:
    if stat["mean"] is None:
        return "n/a"
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}" if len(stat["values"]) > 1 else f"{stat['mean']:.3f}"


def markdown_table(variants: list[dict]) -> str:
    """One row per variant: AP50 and AP on each evaluation set (mean ± std over repeats), training time."""
    sets = list(variants[0]["summary"]["eval"])
    head = ["variant", "overrides"] + [f"{s} {m}" for s in sets for m in ("AP50", "AP")] + ["train s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in variants:
        s = v["summary"]
        cells = [v["name"], "<br>".join(f"`{o}`" for o in v["overrides"]) or "(base)"]
        cells += [_fmt(s["eval"][name][m]) for name in sets for m in ("AP50", "AP")]
        cells.append(f"{s['train_seconds']['mean']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    repeats = len(variants[0]["runs"])
    lines.append("")
    lines.append(f"{repeats} training run(s) per variant" + (" (mean ± sample std)" if repeats > 1 else "")
                 + "; AP = COCO AP@[.50:.95], AP50 at IoU 0.5, boxes.")
    return "\n".join(lines) + "\n"


def bar_plot(variants: list[dict], path: Path, metric: str = "AP50") -> Path:
    """Grouped bars of ``metric`` per variant and evaluation set, with std error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(variants[0]["summary"]["eval"])
    width = 0.8 / len(sets)
    x = np.arange(len(variants))
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(variants) * max(1, len(sets) / 2)), 3.8))
    for k, name in enumerate(sets):
        stats = [v["summary"]["eval"][name][metric] for v in variants]
        means = [s["mean"] or 0.0 for s in stats]
        stds = [s["std"] or 0.0 for s in stats]
        ax.bar(x + (k - (len(sets) - 1) / 2) * width, means, width, yerr=stds, capsize=3, label=name)
    ax.set_xticks(x, [v["name"] for v in variants], rotation=20, ha="right")
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1)
    ax.set_title(f"{metric} per variant (error bars: std over repeats)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def curve_plot(variant: dict, path: Path) -> Path:
    """Training loss and synthetic-val AP50 against iteration, one line per repeat."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for run in variant["runs"]:
        history = run["history"]
        if history["loss"]:
            it, loss = zip(*history["loss"])
            left.plot(it, loss, label=f"seed {run['seed']}")
        if history["val"]:
            it, ap50 = [h[0] for h in history["val"]], [h[1] for h in history["val"]]
            right.plot(it, ap50, marker="o", label=f"seed {run['seed']}")
    left.set(xlabel="iteration", ylabel="training loss", title=f"{variant['name']}: loss")
    right.set(xlabel="iteration", ylabel="AP50", title="synthetic val AP50", ylim=(0, 1))
    for ax in (left, right):
        ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def draw_predictions(image_path: Path, gt_boxes: list[list[float]], boxes: np.ndarray, scores: np.ndarray,
                     names: list[str], threshold: float, path: Path) -> Path:
    """An image with its ground-truth boxes (green, xywh) and predictions at or above ``threshold``
    (red, xyxy, with class name and score) drawn on it."""
    import cv2

    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    for x, y, w, h in gt_boxes:
        cv2.rectangle(image, (int(x), int(y)), (int(x + w - 1), int(y + h - 1)), (0, 200, 0), 1)
    for box, score, name in zip(boxes, scores, names):
        if score < threshold:
            continue
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(image, (x0, y0), (x1, y1), (0, 0, 255), 2)
        cv2.putText(image, f"{name} {score:.2f}", (x0, max(10, y0 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 255), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    cv2.imwrite(str(tmp), image)
    os.replace(tmp, path)
    return path


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
