"""render_scenes: given scene files (hand-made or frame records) -> a dataset folder."""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from vizsynth.assets.keypoints import NO_KEYPOINTS, PRIMITIVE_KEYPOINTS
from vizsynth.config import DatasetConfig, OutputConfig, load_config
from vizsynth.errors import OutputError, SceneError
from vizsynth.frame_record import FrameRecord, parse_record
from vizsynth.io.coco import CONVENTIONS
from vizsynth.io.files import frame_stem, record_path, write_json_atomic
from vizsynth.io.frame_writer import write_frame
from vizsynth.io.labels import coco_categories
from vizsynth.io.records import read_record
from vizsynth.pipeline import FrameRenderer
from vizsynth.run.outdir import MANIFEST, finish_dataset, new_manifest, prepare_output, read_manifest, storage_errors
from vizsynth.scene import SceneSpec, load_scene
from vizsynth.validate import manifest_categories
from vizsynth.version import __version__


@dataclass(frozen=True)
class _SceneInput:
    """One scene file to render: its scene, and its frame record when it is one."""

    path: Path
    scene: SceneSpec
    record: FrameRecord | None


def _read_scene_input(path: str | os.PathLike) -> _SceneInput:
    """Reads a scene file; a frame record (a ``record`` block) is also parsed as one.

    Raises:
        SceneError (RecordError): unreadable, or not a valid scene or record.
    """
    scene = load_scene(path)  # checks that the file is readable JSON
    data = Path(path).read_bytes()
    is_record = "record" in json.loads(data)  # load_scene accepts only a JSON object
    return _SceneInput(Path(path), scene, parse_record(data, Path(path).parent, str(path)) if is_record else None)


def _dataset_categories(record_file: Path) -> list[str] | None:
    """The category list of the dataset a frame record sits in (``DS/frames/.../x.json`` with a
    ``DS/manifest.json`` naming ``categories``), or None."""
    folder = next((f for f in record_file.resolve().parents if f.name == "frames"), None)
    return None if folder is None else manifest_categories(folder.parent)


def _categories(inputs: list[_SceneInput]) -> list[str]:
    """Category names in id order: frame records keep their ids (the rest of their dataset's list
    where the record sits in a dataset); names only hand-made scenes use follow, in the order
    they first appear.

    Raises:
        SceneError: two records give one id two names, or one name two ids.
    """
    by_id: dict[int, str] = {}
    seen_at: dict[int, Path] = {}
    for item in inputs:
        if item.record is None:
            continue
        for ann in item.record.info.annotations:
            known = by_id.setdefault(ann.category_id, ann.category)
            seen_at.setdefault(ann.category_id, item.path)
            if known != ann.category:
                raise SceneError(f"{item.path}: category id {ann.category_id} is {ann.category!r}, but "
                                 f"{known!r} in {seen_at[ann.category_id]}; render frame records of one dataset "
                                 "together")
    names = [f"category_{i}" for i in range(1, max(by_id, default=0) + 1)]
    for item in inputs:
        dataset = _dataset_categories(item.path) if item.record is not None else None
        if dataset and all(i <= len(dataset) and dataset[i - 1] == name for i, name in by_id.items()):
            names = list(dataset) + names[len(dataset):]
            break
    for i, name in by_id.items():
        names[i - 1] = name
    if len(set(by_id.values())) != len(by_id):
        name = next(n for n in by_id.values() if list(by_id.values()).count(n) > 1)
        raise SceneError(f"category {name!r} has two ids in the frame records given: "
                         f"{sorted(i for i, n in by_id.items() if n == name)}")
    for item in inputs:
        for obj in item.scene.objects:
            if not obj.distractor and obj.category not in names:
                names.append(obj.category)
    return names


def _indices(inputs: list[_SceneInput]) -> list[int]:
    """Frame indices: a frame record keeps its own; hand-made scenes take the lowest free ones.

    Raises:
        SceneError: two frame records have the same index.
    """
    taken: dict[int, Path] = {}
    for item in inputs:
        if item.record is not None:
            index = item.record.info.index
            if index in taken:
                raise SceneError(f"{item.path} and {taken[index]} are both frame {index}; one output folder "
                                 "holds each frame index once")
            taken[index] = item.path
    free = (i for i in itertools.count() if i not in taken)
    return [item.record.info.index if item.record is not None else next(free) for item in inputs]


def _frame_output(item: _SceneInput, output: OutputConfig) -> OutputConfig:
    """The output settings of one frame: a frame record keeps its image format and depth scale."""
    if item.record is None:
        return output
    image_format = "jpg" if Path(item.record.info.image_file).suffix == ".jpg" else "png"
    return output.model_copy(update={"image_format": image_format, "depth_scale_m": item.record.info.depth_scale_m})


def render_scenes(
    scene_files: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    output: OutputConfig | None = None,
    overwrite: bool = False,
) -> int:
    """Renders each scene file as one frame into a dataset folder.

    Every file is read and checked (and every mesh loaded) before anything is written. A frame
    record (``frames/*.json``) keeps its frame index, its objects' category names and ids (and
    the rest of its dataset's category list, when it sits in a dataset folder), its image format
    and depth scale, and its seed and tries, so with default render and label settings its files
    come out byte-identical. Hand-made scenes take the lowest free indices, in the order given;
    their new category names get the next ids, in order of first appearance.

    Args:
        output: label formats, and the image format and depth scale of hand-made scenes
            (default: PNG).

    Returns:
        The number of annotations written.

    Raises:
        SceneError, AssetError, OutputError: before anything is written.
    """
    output = output or OutputConfig(image_format="png")
    inputs = [_read_scene_input(path) for path in scene_files]
    categories = _categories(inputs)
    indices = _indices(inputs)
    out_dir = Path(out_dir)
    with FrameRenderer(DatasetConfig(output=output), seed=0, categories=categories) as frames:
        for item in inputs:  # load every mesh now: a broken one must fail before any output
            for obj in item.scene.objects:
                frames.check_asset(obj)
        prepare_output(out_dir, overwrite=overwrite, resume=False, can_resume=False)
        manifest = new_manifest(
            vizsynth_version=__version__, source="render-scene", num_frames=len(inputs),
            frame_indices=sorted(indices), scene_files=[str(item.path.resolve()) for item in inputs],
            categories=categories, conventions=CONVENTIONS, status="running",
        )
        with storage_errors(out_dir):
            write_json_atomic(out_dir / MANIFEST, manifest)
            for index, item in zip(indices, inputs):
                frame = frames.render_scene(item.scene, index)
                if item.record is not None:
                    made = item.record.info
                    info = {"vizsynth_version": made.vizsynth_version, "seed": made.seed, "tries": made.tries,
                            "scene_file": made.scene_file}
                    info = {k: v for k, v in info.items() if v is not None}
                else:
                    info = {"vizsynth_version": __version__, "scene_file": str(item.path.resolve())}
                write_frame(out_dir, frame, _frame_output(item, output), info)
    info = {"description": "vizsynth render-scene", "version": __version__}
    # A category drawn as a primitive gets that primitive's keypoints; mesh files have none here.
    # Categories of a record's dataset that these scenes do not draw keep the keypoints of the
    # primitive they are named after (the default catalog names categories so).
    keypoints = {name: PRIMITIVE_KEYPOINTS.get(name, NO_KEYPOINTS) for name in categories}
    keypoints |= {o.category: PRIMITIVE_KEYPOINTS.get(o.primitive, NO_KEYPOINTS) if o.primitive else NO_KEYPOINTS
                  for item in inputs for o in item.scene.objects if not o.distractor}
    manifest.update(status="complete", completed=len(inputs), failed=[])
    with storage_errors(out_dir):
        counts = finish_dataset(out_dir, sorted(indices), coco_categories(categories, keypoints), output,
                                info, manifest)
    return counts.get("coco", 0)


def replay_frame(dataset: str | os.PathLike, index: int, out_dir: str | os.PathLike,
                 overwrite: bool = False) -> dict[str, bool]:
    """Re-renders frame ``index`` of a generated dataset from its record alone (its SceneSpec),
    with the dataset's own config for labels and encoding, into ``out_dir`` at the same paths.

    ``out_dir`` gets a manifest of its own, so ``overwrite`` can replace an earlier replay there.

    Returns:
        {relative file: whether it is byte-identical to the dataset's} for the frame's files.

    Raises:
        OutputError, SceneError: no such dataset or frame record, an output folder that is the
            dataset or inside it, or an unusable output folder.
    """
    dataset, out_dir = Path(dataset), Path(out_dir)
    resolved_dataset, resolved_out = dataset.resolve(), out_dir.resolve()
    if resolved_out == resolved_dataset or resolved_dataset in resolved_out.parents:
        raise OutputError(f"replay output {out_dir} is the dataset {dataset} or inside it; the replayed files must "
                          "go to a folder of their own to be compared with the dataset's")
    record = record_path(dataset, index)
    if not record.is_file() or not (dataset / "config.yaml").is_file():
        raise OutputError(f"{dataset} has no frame {index} to replay ({record} or config.yaml is missing)")
    config = load_config(dataset / "config.yaml")
    manifest = read_manifest(dataset)
    recorded = read_record(dataset, index)
    with FrameRenderer(config, manifest.get("seed", 0), manifest.get("categories")) as frames:
        prepare_output(out_dir, overwrite=overwrite, resume=False, can_resume=False)
        replay_manifest = new_manifest(vizsynth_version=__version__, source="replay", dataset=str(resolved_dataset),
                                       frame=index, num_frames=1, status="running")
        with storage_errors(out_dir):
            write_json_atomic(out_dir / MANIFEST, replay_manifest)
            frame = frames.render_scene(recorded.scene, index)
            made = recorded.info
            write_frame(out_dir, frame, config.output,
                        {"vizsynth_version": made.vizsynth_version, "seed": made.seed, "tries": made.tries})
            write_json_atomic(out_dir / MANIFEST, {**replay_manifest, "status": "complete"})
    files = [p.relative_to(dataset) for p in (dataset / f for f in ("images", "depth", "instances", "frames"))
             for p in p.rglob(f"{frame_stem(index).split('/')[1]}.*")]
    return {str(f): (out_dir / f).is_file() and (out_dir / f).read_bytes() == (dataset / f).read_bytes()
            for f in files}
