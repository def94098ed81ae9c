"""The experiment YAML: base config, variants, frames, training recipe, real evaluation sets.

Relative paths in the file are resolved against the file's folder. ``--set key=value`` overrides
(value parsed as YAML) apply on top, before validation, e.g. ``--set frames_per_variant=200``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vizsynth.config import _set_override
from vizsynth.errors import ConfigError, format_validation_error

# fasterrcnn_tiny: torchvision's FasterRCNN over a small 5-layer conv backbone (stride 8), for CPU runs
# and smoke tests; the others are torchvision's builders of the same names.
MODELS = ("fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_resnet50_fpn", "retinanet_resnet50_fpn", "fasterrcnn_tiny")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Variant(_Model):
    """One randomization setting: a name (a folder name) and ``--set``-style overrides of the base config."""

    name: str = Field(description="letters, digits, '_', '-', '.'; at most 64 characters; a folder name")
    set: tuple[str, ...] = Field((), description="overrides 'section.key=value', value as YAML")

    @model_validator(mode="after")
    def _check(self) -> "Variant":
        if not _SAFE_NAME.match(self.name):
            raise ValueError(f"a variant name must match {_SAFE_NAME.pattern} (it names a folder), got {self.name!r}")
        bad = [s for s in self.set if "=" not in s]
        if bad:
            raise ValueError(f"variant {self.name!r}: each override needs key=value, got {bad}")
        return self


class TrainRecipe(_Model):
    """How each variant's detector is trained."""

    model: Literal[MODELS] = "fasterrcnn_mobilenet_v3_large_fpn"  # type: ignore[valid-type]
    iterations: int = Field(1000, ge=1, le=10_000_000, description="optimizer steps")
    batch_size: int = Field(4, ge=1, le=1024)
    min_size: int = Field(480, ge=16, le=4096, description="images are resized so their short side is this (px)")
    max_size: int = Field(640, ge=16, le=8192, description="... and their long side at most this (px)")
    lr: float = Field(0.02, gt=0, le=10, description="peak learning rate (SGD, momentum 0.9)")
    lr_schedule: Literal["cosine", "step", "constant"] = Field(
        "cosine", description="after warm-up: cosine to 0, x0.1 at 2/3 and 8/9 of the run, or constant"
    )
    warmup_iterations: int = Field(100, ge=0, description="linear warm-up from lr/1000")
    weight_decay: float = Field(1e-4, ge=0, le=1)
    grad_clip: float = Field(10.0, gt=0, description="gradient norm clip (training from scratch diverges without it)")
    hflip: bool = Field(True, description="random horizontal flips")
    roi_samples_per_image: int = Field(
        512, ge=8, le=4096, description="Faster R-CNN: proposals per image the box head trains on (its main CPU cost)"
    )
    rpn_proposals_train: int = Field(2000, ge=10, le=20000, description="Faster R-CNN: proposals kept in training")
    repeats: int = Field(1, ge=1, le=100, description="trainings per variant with different seeds (mean ± std)")
    seed: int = Field(0, ge=0, description="repeat r trains with seed + r")
    pretrained: str | None = Field(
        None, description="none; a local checkpoint file (state_dict; tensors of other shapes, e.g. the class "
        "head, are skipped); or a torchvision weights name, e.g. FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1 "
        "or a backbone's MobileNet_V3_Large_Weights.IMAGENET1K_V1 (downloaded: needs the internet once)"
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when available")
    amp: bool = Field(True, description="mixed precision on CUDA (ignored on CPU)")
    loader_workers: int = Field(0, ge=0, le=64, description="DataLoader processes decoding images")
    eval_every: int = Field(0, ge=0, description="synthetic-val AP every N iterations for the curve (0: at the end)")
    checkpoint_every: int = Field(200, ge=1, description="a resumable checkpoint every N iterations")
    log_every: int = Field(10, ge=1, description="loss recorded every N iterations")

    @model_validator(mode="after")
    def _sizes(self) -> "TrainRecipe":
        if self.min_size > self.max_size:
            raise ValueError(f"train.min_size ({self.min_size}) must be <= train.max_size ({self.max_size})")
        return self


class RealSet(_Model):
    """A real evaluation set: a COCO JSON plus its image folder, or a folder of YCB-Video-style frames.

    Each path field takes a list of candidates; the first that exists is used (and recorded), so a
    ready experiment can name a large set and fall back to a small one shipped with the code.
    """

    name: str
    coco: tuple[str, ...] = Field((), description="COCO JSON candidates (with images)")
    images: tuple[str, ...] = Field((), description="image folder candidates for coco (default: the JSON's folder)")
    ycbv_frames: tuple[str, ...] = Field(
        (), description="folders of <frame>/color.png + label.png + meta.json (see vizsynth.experiment.realdata)"
    )

    @model_validator(mode="before")
    @classmethod
    def _listify(cls, data):
        if isinstance(data, dict):
            data = {k: [v] if k in ("coco", "images", "ycbv_frames") and isinstance(v, str) else v
                    for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> "RealSet":
        if not _SAFE_NAME.match(self.name):
            raise ValueError(f"a real set name must match {_SAFE_NAME.pattern}, got {self.name!r}")
        if bool(self.coco) == bool(self.ycbv_frames):
            raise ValueError(f"real set {self.name!r} needs exactly one of 'coco' or 'ycbv_frames'")
        return self


class ExperimentSpec(_Model):
    """Everything that decides an experiment (see configs/experiments/ycbv_dr.yaml)."""

    base_config: str | None = Field(None, description="dataset config YAML (default: the built-in default)")
    base_set: tuple[str, ...] = Field((), description="overrides applied to every variant before its own")
    variants: tuple[Variant, ...] = Field(min_length=1)
    frames_per_variant: int = Field(1000, ge=2, le=10_000_000)
    val_frames: int = Field(100, ge=1, description="the last frames of each variant: its synthetic val split")
    data_seed: int = Field(0, ge=0, description="dataset seed of every variant")
    workers: int = Field(1, ge=1, le=1024, description="render processes per variant")
    train: TrainRecipe = Field(default_factory=TrainRecipe)
    real_sets: tuple[RealSet, ...] = Field((), description="real evaluation sets")
    preview_images: int = Field(4, ge=0, le=100, description="real images drawn with predictions per variant")
    preview_score: float = Field(0.5, ge=0, le=1, description="score threshold of the drawn predictions")

    @model_validator(mode="after")
    def _check(self) -> "ExperimentSpec":
        names = [v.name for v in self.variants]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"variant names must be unique, got {twice} more than once")
        real = [r.name for r in self.real_sets]
        if len(set(real)) != len(real):
            raise ValueError(f"real set names must be unique, got {real}")
        if self.val_frames >= self.frames_per_variant:
            raise ValueError(f"val_frames ({self.val_frames}) must be < frames_per_variant "
                             f"({self.frames_per_variant}): the rest trains")
        return self


def load_experiment(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentSpec:
    """Reads and validates an experiment YAML; relative paths become absolute (against its folder).

    Args:
        path: the experiment YAML.
        overrides: ``"key=value"`` strings (value as YAML) applied before validation,
            e.g. ``"train.iterations=200"``.

    Returns:
        The validated ExperimentSpec with absolute paths.

    Raises:
        ConfigError: a missing or malformed file, or a field breaking a rule (named with its value).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid UTF-8 YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    for assignment in overrides:
        _set_override(data, assignment)
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path), _field_names())) from None
    return _absolute(spec, path.parent.resolve())


def _field_names() -> set[str]:
    names: set[str] = set()
    for model in (ExperimentSpec, Variant, TrainRecipe, RealSet):
        names |= set(model.model_fields)
    return names


def _absolute(spec: ExperimentSpec, base: Path) -> ExperimentSpec:
    def resolve(p: str) -> str:
        return str((base / os.path.expanduser(p)).resolve())

    real = tuple(r.model_copy(update={k: tuple(resolve(p) for p in getattr(r, k))
                                      for k in ("coco", "images", "ycbv_frames")}) for r in spec.real_sets)
    update = {"real_sets": real}
    if spec.base_config is not None:
        update["base_config"] = resolve(spec.base_config)
    return spec.model_copy(update=update)


def first_existing(candidates: tuple[str, ...], what: str) -> Path:
    """The first candidate path that exists.

    Raises:
        ConfigError: none exists (all are named).
    """
    for candidate in candidates:
        if Path(candidate).exists():
            return Path(candidate)
    raise ConfigError(f"{what}: none of these exists: {list(candidates)}")
