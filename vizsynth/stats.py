"""Dataset statistics, optionally against another dataset: the numbers, plots, and an HTML report.

Works on any COCO file (plus its images) and reads vizsynth's extras when present (visibility,
truncation, depth files). Distances say how far a synthetic dataset is from a real one per
statistic, so a config can be tuned toward the real data:
  - L1 distance between class frequency vectors (categories matched by name),
  - 1-D Wasserstein distance between the samples of every other statistic
    (log10 relative box area, log10 aspect ratio, objects per image, brightness, ...).
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from scipy.stats import wasserstein_distance

from vizsynth.imagefiles import read_image
from vizsynth.validate import load_labels

SAMPLES = ("log10_box_area", "log10_aspect_ratio", "objects_per_image", "centre_x", "centre_y",
           "visibility", "truncation", "depth_min_m", "depth_max_m", "brightness", "mean_r", "mean_g", "mean_b")


def compute_stats(path: str | Path, image_root: str | Path | None = None, max_images: int = 500) -> dict:
    """The statistics of a dataset folder (or its own annotations.json) or a COCO file; a dataset
    without annotations.json is read from its frame records (``labels`` says which).

    Image-level pixel statistics (brightness, colour, depth) read at most ``max_images`` images,
    evenly spaced. Returns a JSON-serialisable dict: ``summary`` (numbers), ``classes``
    (name -> count) and ``samples`` (name -> list of values, for histograms and distances).
    """
    labels = load_labels(path, image_root)
    data, root, folder = labels.data, labels.image_root, labels.folder
    images = {im["id"]: im for im in data.get("images", [])}
    names = {c["id"]: c["name"] for c in data.get("categories", [])}
    samples: dict[str, list[float]] = {name: [] for name in SAMPLES}
    per_image = Counter()
    classes = Counter()
    for ann in data.get("annotations", []):
        image = images.get(ann.get("image_id"))
        if image is None or ann.get("ignore"):
            continue
        per_image[image["id"]] += 1
        classes[names.get(ann["category_id"], str(ann["category_id"]))] += 1
        x, y, w, h = ann["bbox"]
        if w > 0 and h > 0:
            samples["log10_box_area"].append(math.log10(w * h / (image["width"] * image["height"])))
            samples["log10_aspect_ratio"].append(math.log10(w / h))
            samples["centre_x"].append((x + w / 2) / image["width"])
            samples["centre_y"].append((y + h / 2) / image["height"])
        for key in ("visibility", "truncation"):
            if ann.get(key) is not None:
                samples[key].append(float(ann[key]))
    samples["objects_per_image"] = [float(per_image[i]) for i in images]
    chosen = list(images.values())
    if len(chosen) > max_images:
        chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, max_images).astype(int)]
    for image in chosen:
        rgb = read_image(root / image["file_name"], cv2.IMREAD_COLOR)
        if rgb is not None:
            b, g, r = rgb.reshape(-1, 3).mean(axis=0) / 255.0
            samples["mean_r"].append(float(r))
            samples["mean_g"].append(float(g))
            samples["mean_b"].append(float(b))
            samples["brightness"].append(float(0.299 * r + 0.587 * g + 0.114 * b))
        if folder is not None and image.get("depth_file"):
            depth = read_image(folder / "depth" / image["depth_file"])
            valid = depth[depth > 0] * image.get("depth_scale_m", 0.001) if depth is not None else []
            if len(valid):
                samples["depth_min_m"].append(float(valid.min()))
                samples["depth_max_m"].append(float(valid.max()))
    summary = {
        "images": len(images),
        "annotations": sum(classes.values()),
        "categories": len(names),
        "objects_per_image_mean": float(np.mean(samples["objects_per_image"])) if images else 0.0,
    }
    for name, values in samples.items():
        if values and name != "objects_per_image":
            summary[f"{name}_mean"] = float(np.mean(values))
    return {"source": str(path), "labels": labels.source, "summary": summary, "classes": dict(sorted(classes.items())), "samples": samples}


def distances(a: dict, b: dict) -> dict[str, float]:
    """Per-statistic distances between two ``compute_stats`` results (only shared, non-empty ones)."""
    out = {}
    names = sorted(set(a["classes"]) | set(b["classes"]))
    fa = np.array([a["classes"].get(n, 0) for n in names], dtype=float)
    fb = np.array([b["classes"].get(n, 0) for n in names], dtype=float)
    if fa.sum() and fb.sum():
        out["class_frequency_l1"] = float(np.abs(fa / fa.sum() - fb / fb.sum()).sum())
    for name in SAMPLES:
        if a["samples"][name] and b["samples"][name]:
            out[f"{name}_wasserstein"] = float(wasserstein_distance(a["samples"][name], b["samples"][name]))
    return out


def _plots(stats: list[dict], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    labels = [Path(s["source"]).name or s["source"] for s in stats]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = sorted({n for s in stats for n in s["classes"]})
    width = 0.8 / len(stats)
    for k, s in enumerate(stats):
        total = max(sum(s["classes"].values()), 1)
        ax.bar(np.arange(len(names)) + k * width, [s["classes"].get(n, 0) / total for n in names], width, label=labels[k])
    ax.set_xticks(np.arange(len(names)) + width * (len(stats) - 1) / 2, names, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("share of objects")
    ax.set_title("class balance")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "classes.png", dpi=90)
    plt.close(fig)
    files.append("classes.png")
    for name in SAMPLES:
        if name in ("centre_x", "centre_y") or not any(s["samples"][name] for s in stats):
            continue
        fig, ax = plt.subplots(figsize=(5, 3))
        values = [v for s in stats for v in s["samples"][name]]
        bins = np.linspace(min(values), max(values) + 1e-9, 30)
        for k, s in enumerate(stats):
            if s["samples"][name]:
                ax.hist(s["samples"][name], bins=bins, density=True, alpha=0.5, label=labels[k])
        ax.set_title(name.replace("_", " "))
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"{name}.png", dpi=90)
        plt.close(fig)
        files.append(f"{name}.png")
    fig, axes = plt.subplots(1, len(stats), figsize=(3.5 * len(stats), 3), squeeze=False)
    for ax, s, label in zip(axes[0], stats, labels):
        heat, _, _ = np.histogram2d(s["samples"]["centre_y"], s["samples"]["centre_x"], bins=20, range=[[0, 1], [0, 1]])
        ax.imshow(heat, extent=(0, 1, 1, 0), cmap="magma")
        ax.set_title(f"object centres: {label}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "centres.png", dpi=90)
    plt.close(fig)
    files.append("centres.png")
    return files


def case_clashes(a: dict, b: dict) -> list[str]:
    """Warnings for class names of two ``compute_stats`` results that differ only in case (``CUBE``
    and ``cube``): distances count them as different classes, which is rarely what was meant."""
    names_b = {name.casefold(): name for name in b["classes"]}
    return [f"class {name!r} of {a['source']} and {names_b[name.casefold()]!r} of {b['source']} differ only in "
            "case: they are compared as different classes"
            for name in sorted(a["classes"])
            if name.casefold() in names_b and names_b[name.casefold()] != name and name not in b["classes"]]


def write_report(stats: dict, out_dir: str | Path, compare: list[dict] = ()) -> dict:
    """Writes ``stats.json``, one PNG per statistic and ``report.html`` into ``out_dir``.

    Returns the dict written to stats.json: {"dataset": ..., "compare": [...], "distances": [...],
    "warnings": [...]} (warnings: class names that differ only in case, see case_clashes).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"dataset": stats, "compare": list(compare), "distances": [distances(stats, other) for other in compare],
              "warnings": [w for other in compare for w in case_clashes(stats, other)]}
    (out_dir / "stats.json").write_text(json.dumps(result))
    images = _plots([stats, *compare], out_dir)
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.6g}</td></tr>" for k, v in stats["summary"].items())
    dist_rows = "".join(
        f"<tr><td>{html.escape(Path(o['source']).name)}</td><td>{html.escape(k)}</td><td>{v:.6g}</td></tr>"
        for o, d in zip(compare, result["distances"]) for k, v in d.items()
    )
    body = [
        f"<h1>vizsynth stats: {html.escape(stats['source'])}</h1>",
        f"<table border=1><tr><th>statistic</th><th>value</th></tr>{rows}</table>",
    ]
    if compare:
        body.append(f"<h2>distances</h2><table border=1><tr><th>against</th><th>statistic</th><th>distance</th></tr>"
                    f"{dist_rows}</table>")
    body += [f'<div><img src="{name}" alt="{name}"></div>' for name in images]
    (out_dir / "report.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>vizsynth stats</title></head><body>"
        + "\n".join(body) + "</body></html>\n"
    )
    return result


def summary_table(result: dict) -> str:
    """The short table the CLI prints (the same numbers as stats.json)."""
    lines = [f"{'labels from':>28}  {result['dataset']['labels']}"] if "labels" in result["dataset"] else []
    lines += [f"{k:>28}  {v:.6g}" for k, v in result["dataset"]["summary"].items()]
    for other, dist in zip(result["compare"], result["distances"]):
        lines.append(f"distances to {other['source']}:")
        lines += [f"{k:>28}  {v:.6g}" for k, v in dist.items()]
    return "\n".join(lines)
