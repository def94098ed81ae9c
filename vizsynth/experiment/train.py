"""Training and running a torchvision detector on a vizsynth COCO set (needs ``vizsynth[train]``).

Batches are drawn per iteration from ``SeedSequence(seed, spawn_key=(iteration,))``, so a run
resumed from a checkpoint sees the same batches as one that never stopped. torchvision's
detection heads sample proposals with torch's global generator; its state is saved in the
checkpoint too.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vizsynth.errors import ConfigError, VizsynthError
from vizsynth.experiment.spec import TrainRecipe

INSTALL_HINT = 'pip install "vizsynth[train]"  (torch>=2.1, torchvision>=0.16)'


def require_torch():
    """Imports torch and torchvision.

    Returns:
        ``(torch, torchvision)``.

    Raises:
        VizsynthError: either is missing, with the install hint.
    """
    try:
        import torch
        import torchvision
    except ImportError as exc:
        raise VizsynthError(f"experiments train detectors with torch and torchvision, which are not installed "
                            f"({exc.name} is missing): {INSTALL_HINT}") from None
    return torch, torchvision


def resolve_device(name: str) -> str:
    """'auto' -> 'cuda' when a CUDA device is available, else 'cpu'.

    Raises:
        ConfigError: 'cuda' asked for where none is available.
    """
    torch, _ = require_torch()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but torch sees no CUDA device; use 'auto' or 'cpu'")
    return name


def read_image(path: Path):
    """An image file as a ``(3, H, W) float32`` RGB tensor in [0, 1].

    Raises:
        ConfigError: the file is missing or unreadable.
    """
    import cv2
    import torch

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConfigError(f"{path}: missing or not a readable image")
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0)


class CocoBoxes:
    """A COCO set as (image, target) pairs for torchvision detectors (a map-style Dataset).

    Items are keyed ``(index, flip)``. Objects flagged ``ignore`` or ``iscrowd`` and boxes under a
    pixel wide are left out; ``bbox`` ``[x, y, w, h]`` becomes ``[x, y, x + w, y + h]`` (pixel edges).
    """

    def __init__(self, coco: dict, images: Path, labels: dict[int, int]):
        self.images = Path(images)
        self.entries = sorted(coco["images"], key=lambda im: im["id"])
        by_image: dict[int, list] = {im["id"]: [] for im in self.entries}
        for ann in coco["annotations"]:
            if ann.get("ignore", 0) or ann.get("iscrowd", 0) or ann["category_id"] not in labels:
                continue
            x, y, w, h = ann["bbox"]
            if w >= 1 and h >= 1 and ann["image_id"] in by_image:
                by_image[ann["image_id"]].append(([x, y, x + w, y + h], labels[ann["category_id"]]))
        self.objects = [by_image[im["id"]] for im in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, key: tuple[int, bool]):
        import torch

        index, flip = key
        image = read_image(self.images / self.entries[index]["file_name"])
        objects = self.objects[index]
        boxes = torch.tensor([b for b, _ in objects], dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([c for _, c in objects], dtype=torch.int64)
        if flip:
            image = image.flip(-1)
            width = image.shape[-1]
            boxes = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1)
        return image, {"boxes": boxes, "labels": labels}


def batch_plan(seed: int, iteration: int, num_items: int, batch_size: int, hflip: bool) -> list[tuple[int, bool]]:
    """The ``(index, flip)`` keys of one iteration's batch; depends only on its arguments."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(iteration,)))
    indices = rng.integers(0, num_items, size=batch_size)
    flips = rng.random(batch_size) < 0.5
    return [(int(i), bool(f and hflip)) for i, f in zip(indices, flips)]


def lr_at(recipe: TrainRecipe, iteration: int) -> float:
    """The learning rate of an iteration: linear warm-up, then the schedule."""
    if iteration < recipe.warmup_iterations:
        start = 1e-3
        return recipe.lr * (start + (1 - start) * iteration / recipe.warmup_iterations)
    span = max(1, recipe.iterations - recipe.warmup_iterations)
    done = (iteration - recipe.warmup_iterations) / span
    if recipe.lr_schedule == "cosine":
        return recipe.lr * 0.5 * (1 + math.cos(math.pi * done))
    if recipe.lr_schedule == "step":
        return recipe.lr * (0.1 ** sum(done >= m for m in (2 / 3, 8 / 9)))
    return recipe.lr


@dataclass(frozen=True)
class PretrainedInfo:
    """Which weights a model started from: ``kind`` is 'none', 'file' or 'torchvision'."""

    kind: str
    source: str | None
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "source": self.source, "detail": self.detail}


def build_model(recipe: TrainRecipe, num_classes: int):
    """A torchvision detector for ``num_classes`` classes plus background, from ``recipe.pretrained``.

    Returns:
        ``(model, PretrainedInfo)``.

    Raises:
        ConfigError: an unknown weights name, weights that cannot be downloaded, or an unreadable file.
    """
    torch, torchvision = require_torch()
    from torchvision.models import detection, get_weight

    builder = _tiny_fasterrcnn if recipe.model == "fasterrcnn_tiny" else getattr(detection, recipe.model)
    kwargs = {"min_size": recipe.min_size, "max_size": recipe.max_size}
    if recipe.model.startswith("fasterrcnn"):
        kwargs.update(box_batch_size_per_image=recipe.roi_samples_per_image,
                      rpn_pre_nms_top_n_train=recipe.rpn_proposals_train,
                      rpn_post_nms_top_n_train=recipe.rpn_proposals_train)
    source = recipe.pretrained
    if source is None or source.lower() == "none":
        return builder(weights=None, weights_backbone=None, num_classes=num_classes + 1, **kwargs), \
            PretrainedInfo("none", None, "random initialisation (no pretrained weights)")
    if os.path.isfile(source):
        model = builder(weights=None, weights_backbone=None, num_classes=num_classes + 1, **kwargs)
        try:
            state = torch.load(source, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling problem is a bad file for the user
            raise ConfigError(f"train.pretrained: cannot read {source} as a torch state_dict: {exc}") from None
        state = state.get("model", state) if isinstance(state, dict) else state
        own = model.state_dict()
        usable = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
        if not usable:
            raise ConfigError(f"train.pretrained: {source} holds no tensor matching {recipe.model}'s names and shapes")
        model.load_state_dict(usable, strict=False)
        return model, PretrainedInfo("file", source, f"{len(usable)}/{len(own)} tensors loaded from the file")
    try:
        weights = get_weight(source)
    except (ValueError, KeyError, AttributeError):
        raise ConfigError(f"train.pretrained: {source!r} is neither a file nor a torchvision weights name "
                          "(e.g. FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1)") from None
    is_detector = type(weights).__name__.lower().startswith(("fasterrcnn", "retinanet"))
    try:
        if is_detector:
            model = builder(weights=weights, **kwargs)
            _replace_head(model, recipe.model, num_classes + 1)
        else:
            model = builder(weights=None, weights_backbone=weights, num_classes=num_classes + 1, **kwargs)
    except (OSError, RuntimeError) as exc:  # urllib errors are OSErrors
        raise ConfigError(f"train.pretrained: cannot load torchvision weights {source} ({exc}); this machine may "
                          "have no internet: give a local file or none") from None
    what = "detector (class head replaced)" if is_detector else "backbone"
    return model, PretrainedInfo("torchvision", source, f"torchvision {what} weights {weights}")


def _tiny_fasterrcnn(*, weights, weights_backbone, num_classes: int, **kwargs):
    """torchvision's FasterRCNN on a 5-layer conv backbone (64 channels, stride 8) with a 256-wide box
    head: about 40x cheaper than the MobileNetV3 FPN per iteration on a CPU, for small images."""
    from torch import nn
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    if weights is not None or weights_backbone is not None:
        raise ConfigError("train.pretrained: fasterrcnn_tiny has no torchvision weights; give a local file or none")

    def block(c_in: int, c_out: int, stride: int) -> list:
        return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

    backbone = nn.Sequential(*block(3, 24, 2), *block(24, 48, 2), *block(48, 64, 2), *block(64, 64, 1),
                             *block(64, 64, 1))
    backbone.out_channels = 64
    return FasterRCNN(
        backbone, num_classes=None,
        rpn_anchor_generator=AnchorGenerator(((16, 32, 64, 128),), ((0.5, 1.0, 2.0),)),
        box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2),
        box_head=TwoMLPHead(64 * 7 * 7, 256), box_predictor=FastRCNNPredictor(256, num_classes), **kwargs)


def _replace_head(model, name: str, num_classes: int) -> None:
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
    from torchvision.models.detection.retinanet import RetinaNetClassificationHead

    if name.startswith("fasterrcnn"):
        in_features = model.roi_heads.box_predictor.cls_score.in_features
        model.roi_heads.box_predictor = FastRCNNPredictor(in_features, num_classes)
    else:
        head = model.head.classification_head
        model.head.classification_head = RetinaNetClassificationHead(
            head.conv[0][0].in_channels, head.num_anchors, num_classes)


@dataclass(frozen=True)
class TrainResult:
    """A finished training: the final weights file, its history and timing."""

    weights: Path
    history: dict
    seconds: float
    pretrained: PretrainedInfo


def train_detector(recipe: TrainRecipe, train_set: CocoBoxes, num_classes: int, run_dir: Path, seed: int, *,
                   device: str, val_eval=None, progress: bool = True) -> TrainResult:
    """Trains (or resumes, or just returns) a detector; writes checkpoints and ``model_final.pt`` in run_dir.

    Args:
        recipe: the training recipe.
        train_set: the training items.
        num_classes: object classes (labels 1..num_classes).
        run_dir: this training's folder: ``checkpoint.pt`` while it runs, ``model_final.pt`` and
            ``history.json`` when done (then nothing is trained again).
        seed: batch order and torch's generator.
        device: 'cpu' or 'cuda'.
        val_eval: called as ``val_eval(model) -> metrics dict`` every ``recipe.eval_every`` iterations
            (and at the end) for the curve; None: no curve points.
        progress: a tqdm bar on stderr.

    Returns:
        TrainResult.
    """
    torch, _ = require_torch()
    from tqdm import tqdm

    run_dir.mkdir(parents=True, exist_ok=True)
    final, history_file = run_dir / "model_final.pt", run_dir / "history.json"
    if final.is_file() and history_file.is_file():
        history = json.loads(history_file.read_text())
        info = PretrainedInfo(**history["pretrained"])
        return TrainResult(final, history, history["train_seconds"], info)
    if len(train_set) == 0:
        raise ConfigError(f"{run_dir}: no training images")
    torch.manual_seed(seed)
    model, info = build_model(recipe, num_classes)
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=recipe.lr, momentum=0.9, weight_decay=recipe.weight_decay)
    use_amp = recipe.amp and device == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history = {"loss": [], "val": [], "pretrained": info.to_dict(), "train_seconds": 0.0, "device": device}
    start = 0
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        history, start = state["history"], state["iteration"]
    loader = torch.utils.data.DataLoader(
        train_set, batch_sampler=[batch_plan(seed, i, len(train_set), recipe.batch_size, recipe.hflip)
                                  for i in range(start, recipe.iterations)],
        num_workers=recipe.loader_workers, collate_fn=lambda batch: tuple(zip(*batch)),
        persistent_workers=False, pin_memory=device == "cuda",
    )
    bar = tqdm(total=recipe.iterations, initial=start, unit="it", desc=f"train {run_dir.parent.name}/{run_dir.name}",
               disable=not progress, dynamic_ncols=True, file=sys.stderr)
    began, running = time.monotonic() - history["train_seconds"], []
    iteration = start
    for images, targets in loader:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(recipe, iteration)
        images = [im.to(device, non_blocking=True) for im in images]
        targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]
        with torch.autocast("cuda", enabled=use_amp):
            losses = model(images, targets)
            loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise VizsynthError(f"{run_dir}: the loss became {loss.item()} at iteration {iteration}; "
                                "lower train.lr or raise train.warmup_iterations")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, recipe.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        running.append(float(loss.detach()))
        iteration += 1
        bar.update(1)
        if iteration % recipe.log_every == 0 or iteration == recipe.iterations:
            history["loss"].append([iteration, float(np.mean(running))])
            bar.set_postfix(loss=f"{np.mean(running):.3f}")
            running = []
        last = iteration == recipe.iterations
        if val_eval is not None and (last or (recipe.eval_every and iteration % recipe.eval_every == 0)):
            model.eval()
            metrics = val_eval(model)
            model.train()
            history["val"].append([iteration, metrics["AP50"], metrics["AP"]])
        history["train_seconds"] = time.monotonic() - began
        if iteration % recipe.checkpoint_every == 0 and not last:
            _atomic_save(torch, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                 "scaler": scaler.state_dict(), "torch_rng": torch.get_rng_state(),
                                 "history": history, "iteration": iteration}, checkpoint)
    bar.close()
    _atomic_save(torch, model.state_dict(), final)
    _atomic_write(history_file, json.dumps(history, indent=1))
    checkpoint.unlink(missing_ok=True)
    return TrainResult(final, history, history["train_seconds"], info)


def load_trained(recipe: TrainRecipe, num_classes: int, weights: Path, device: str):
    """The trained model from ``model_final.pt``, in eval mode on device."""
    torch, _ = require_torch()
    model, _ = build_model(recipe.model_copy(update={"pretrained": None}), num_classes)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval()


def predict(model, coco: dict, images: Path, label_to_category: dict[int, int], device: str, *,
            progress: bool = False, desc: str = "predict", keep_images: int = 0) -> tuple[list[dict], dict]:
    """Runs the model over a COCO set's images.

    Args:
        model: a torchvision detector in eval mode.
        coco: the COCO dict (its ``images``).
        images: the folder ``file_name`` is relative to.
        label_to_category: model label -> the set's category id (labels without one are dropped).
        device: where the model is.
        progress: a tqdm bar.
        desc: the bar's label.
        keep_images: the raw detections of the first N images are also returned for drawing.

    Returns:
        ``(detections in COCO result form, {image id: (boxes xyxy, scores, labels) arrays})``.
    """
    torch, _ = require_torch()
    from tqdm import tqdm

    # COCO AP integrates over all scores: keep low-confidence boxes (torchvision's default drops < 0.05).
    if hasattr(model, "roi_heads"):
        model.roi_heads.score_thresh = 0.001
    else:
        model.score_thresh = 0.001
    detections, kept = [], {}
    entries = sorted(coco["images"], key=lambda im: im["id"])
    with torch.inference_mode():
        for n, entry in enumerate(tqdm(entries, desc=desc, disable=not progress, dynamic_ncols=True,
                                       file=sys.stderr, leave=False)):
            out = model([read_image(images / entry["file_name"]).to(device)])[0]
            boxes = out["boxes"].float().cpu().numpy()
            scores = out["scores"].float().cpu().numpy()
            labels = out["labels"].cpu().numpy()
            if n < keep_images:
                kept[entry["id"]] = (boxes, scores, labels)
            for box, score, label in zip(boxes, scores, labels):
                if int(label) in label_to_category:
                    x0, y0, x1, y1 = (float(v) for v in box)
                    detections.append({"image_id": entry["id"], "category_id": label_to_category[int(label)],
                                       "bbox": [x0, y0, x1 - x0, y1 - y0], "score": float(score)})
    return detections, kept


def _atomic_save(torch, obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
