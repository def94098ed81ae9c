"""One synthetic dataset per variant, made by the ordinary (resumable) generate job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vizsynth.config import load_config
from vizsynth.errors import ConfigError
from vizsynth.experiment.spec import ExperimentSpec, Variant


@dataclass(frozen=True)
class VariantData:
    """A variant's dataset folder and how its frames split into train and synthetic val.

    ``train_frames`` are the frame indices ``0 .. n - val - 1``; ``val_frames`` the last ``val``.
    """

    name: str
    folder: Path
    num_frames: int
    num_val: int
    generated: bool  # False: a complete dataset from before was kept


def variant_overrides(spec: ExperimentSpec, variant: Variant) -> list[str]:
    """The --set overrides of a variant: the experiment's ``base_set``, then the variant's own."""
    return [*spec.base_set, *variant.set]


def make_variant_data(spec: ExperimentSpec, variant: Variant, folder: Path, progress: bool = True) -> VariantData:
    """Generates (or keeps, when complete, or resumes) the dataset of one variant.

    Args:
        spec: the experiment.
        variant: the variant.
        folder: its dataset folder (made by vizsynth; a complete one with the same config is kept).
        progress: show the generate job's progress bar.

    Returns:
        The VariantData.

    Raises:
        ConfigError: naming the variant, when its overrides break the config schema.
        OutputError: the folder holds something other than this variant's dataset.
    """
    from vizsynth.run.job import generate

    try:
        config = load_config(spec.base_config, variant_overrides(spec, variant))
    except ConfigError as exc:
        raise ConfigError(f"variant {variant.name!r}: {exc}") from None
    n = spec.frames_per_variant
    if _complete(folder, n, spec.data_seed):
        return VariantData(variant.name, folder, n, spec.val_frames, generated=False)
    summary = generate(config, folder, n, seed=spec.data_seed, workers=spec.workers, resume=True, progress=progress)
    if summary.completed < n - spec.val_frames // 2:
        # A few failed frames are tolerated (their images are simply absent); most failing is a broken variant.
        raise ConfigError(f"variant {variant.name!r}: only {summary.completed}/{n} frames rendered; "
                          f"see {folder / 'manifest.json'}")
    return VariantData(variant.name, folder, n, spec.val_frames, generated=True)


def _complete(folder: Path, num_frames: int, seed: int) -> bool:
    """Whether folder holds a finished generate job of this size and seed (config changes are caught
    by generate's own resume check, which runs whenever this is False)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return (manifest.get("status") == "complete" and manifest.get("num_frames") == num_frames
            and manifest.get("seed") == seed and (folder / "annotations.json").is_file())


def split_coco(coco: dict, num_frames: int, num_val: int) -> tuple[dict, dict]:
    """Splits a vizsynth COCO dict by ``frame_index``: frames below ``num_frames - num_val`` train, the rest val.

    Returns:
        ``(train, val)`` COCO dicts sharing the categories.
    """
    cut = num_frames - num_val
    parts = []
    for keep in (lambda i: i < cut, lambda i: i >= cut):
        images = [im for im in coco["images"] if keep(im.get("frame_index", im["id"] - 1))]
        ids = {im["id"] for im in images}
        parts.append({"images": images, "categories": coco["categories"],
                      "annotations": [a for a in coco["annotations"] if a["image_id"] in ids]})
    return parts[0], parts[1]
