"""render_scenes: given scene files (hand-made or frame records) -> a dataset folder."""

from __future__ import annotations

import os
from pathlib import Path

from vizsynth.assets.keypoints import NO_KEYPOINTS, PRIMITIVE_KEYPOINTS
from vizsynth.config import DatasetConfig, OutputConfig
from vizsynth.frame import FrameRenderer
from vizsynth.io.coco import CONVENTIONS
from vizsynth.io.files import write_json_atomic
from vizsynth.io.frame_writer import write_frame
from vizsynth.io.labels import coco_categories
from vizsynth.run.outdir import MANIFEST, finish_dataset, prepare_output
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
    categories = list(dict.fromkeys(o.category for s in scenes for o in s.objects))
    out_dir = Path(out_dir)
    with FrameRenderer(DatasetConfig(output=output), seed=0, categories=categories) as frames:
        for scene in scenes:  # load every mesh now: a broken one must fail before any output
            for obj in scene.objects:
                frames.check_asset(obj)
        prepare_output(out_dir, overwrite=overwrite, resume=False)
        manifest = {
            "vizsynth_version": __version__, "source": "render-scene", "num_frames": len(scenes),
            "scene_files": [str(Path(p).resolve()) for p in scene_files], "categories": categories,
            "conventions": CONVENTIONS, "status": "running",
        }
        write_json_atomic(out_dir / MANIFEST, manifest)
        for index, (path, scene) in enumerate(zip(scene_files, scenes)):
            frame = frames.render_scene(scene, index)
            write_frame(out_dir, frame, output, {"vizsynth_version": __version__, "scene_file": str(Path(path).resolve())})
    info = {"description": "vizsynth render-scene", "version": __version__}
    # A category drawn as a primitive gets that primitive's keypoints; mesh files have none here.
    keypoints = {o.category: PRIMITIVE_KEYPOINTS.get(o.primitive, NO_KEYPOINTS) if o.primitive else NO_KEYPOINTS
                 for s in scenes for o in s.objects}
    manifest.update(status="complete", completed=len(scenes), failed=[])
    counts = finish_dataset(out_dir, list(range(len(scenes))), coco_categories(categories, keypoints), output,
                            info, manifest)
    return counts.get("coco", 0)
