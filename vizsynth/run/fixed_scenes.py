"""render_scenes: given scene files (hand-made or frame records) -> a dataset folder."""

from __future__ import annotations

import os
from pathlib import Path

from vizsynth.assets.keypoints import NO_KEYPOINTS, PRIMITIVE_KEYPOINTS
from vizsynth.config import DatasetConfig, OutputConfig, load_config
from vizsynth.errors import OutputError
from vizsynth.io.coco import CONVENTIONS
from vizsynth.io.files import frame_stem, record_path, write_json_atomic
from vizsynth.io.frame_writer import write_frame
from vizsynth.io.labels import coco_categories
from vizsynth.io.records import read_record
from vizsynth.pipeline import FrameRenderer
from vizsynth.run.outdir import MANIFEST, finish_dataset, new_manifest, prepare_output, read_manifest, storage_errors
from vizsynth.scene import load_scene
from vizsynth.version import __version__


def render_scenes(
    scene_files: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    output: OutputConfig | None = None,
    overwrite: bool = False,
) -> int:
    """Renders each scene file as one frame, in the order given, into a dataset folder.

    Every file is read and checked (and every mesh loaded) before anything is written. Category
    ids follow the order in which category names first appear across the files.

    Returns:
        The number of annotations written.

    Raises:
        SceneError, AssetError, OutputError: before anything is written.
    """
    output = output or OutputConfig(image_format="png")
    scenes = [load_scene(path) for path in scene_files]
    categories = list(dict.fromkeys(o.category for s in scenes for o in s.objects if not o.distractor))
    out_dir = Path(out_dir)
    with FrameRenderer(DatasetConfig(output=output), seed=0, categories=categories) as frames:
        for scene in scenes:  # load every mesh now: a broken one must fail before any output
            for obj in scene.objects:
                frames.check_asset(obj)
        prepare_output(out_dir, overwrite=overwrite, resume=False, can_resume=False)
        manifest = new_manifest(
            vizsynth_version=__version__, source="render-scene", num_frames=len(scenes),
            scene_files=[str(Path(p).resolve()) for p in scene_files], categories=categories,
            conventions=CONVENTIONS, status="running",
        )
        with storage_errors(out_dir):
            write_json_atomic(out_dir / MANIFEST, manifest)
            for index, (path, scene) in enumerate(zip(scene_files, scenes)):
                frame = frames.render_scene(scene, index)
                write_frame(out_dir, frame, output,
                            {"vizsynth_version": __version__, "scene_file": str(Path(path).resolve())})
    info = {"description": "vizsynth render-scene", "version": __version__}
    # A category drawn as a primitive gets that primitive's keypoints; mesh files have none here.
    keypoints = {o.category: PRIMITIVE_KEYPOINTS.get(o.primitive, NO_KEYPOINTS) if o.primitive else NO_KEYPOINTS
                 for s in scenes for o in s.objects if not o.distractor}
    manifest.update(status="complete", completed=len(scenes), failed=[])
    with storage_errors(out_dir):
        counts = finish_dataset(out_dir, list(range(len(scenes))), coco_categories(categories, keypoints), output,
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
