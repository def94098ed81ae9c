"""generate: a whole dataset job: check the folder, render missing frames, merge, write manifest."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from vizsynth.assets.catalog import build_catalog
from vizsynth.assets.images import image_pools
from vizsynth.assets.meshes import MeshLibrary
from vizsynth.config import DatasetConfig, load_config
from vizsynth.errors import ConfigError
from vizsynth.io.bop import check_bop_config
from vizsynth.io.coco import CONVENTIONS
from vizsynth.io.files import record_path, remove_stale_temporaries, write_bytes_atomic, write_json_atomic
from vizsynth.io.labels import coco_categories
from vizsynth.render import check_rendering
from vizsynth.run.local import run_frames
from vizsynth.run.outdir import MANIFEST, check_resume, config_digest, finish_dataset, prepare_output
from vizsynth.run.task import STAGES, FrameOutcome, FrameTask
from vizsynth.version import __version__

Executor = Callable[[FrameTask, list[int], int], Iterator[FrameOutcome]]


@dataclass(frozen=True)
class JobSummary:
    """The result of a generation job.

    Attributes:
        out_dir: the dataset folder.
        num_frames: frames asked for.
        completed: frames complete on disk (including ones kept by --resume).
        rendered: frames rendered by this run.
        failed: {index: error} of frames that failed twice.
        num_annotations: annotations in annotations.json (visible objects rendered, without COCO).
        seconds: wall time of this run.
        stage_seconds: summed per-stage seconds of this run's frames (sample, render, annotate, write, merge).
        acceptance_rate: frames rendered / samples drawn under the frame constraints (1.0 without).
    """

    out_dir: Path
    num_frames: int
    completed: int
    rendered: int
    failed: dict[int, str]
    num_annotations: int
    seconds: float
    stage_seconds: dict = field(default_factory=dict)
    acceptance_rate: float | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def generate(
    config: DatasetConfig | dict | str | Path | None = None,
    out_dir: str | Path = "dataset",
    num_frames: int = 100,
    *,
    seed: int = 0,
    workers: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    executor: Executor = run_frames,
) -> JobSummary:
    """Makes a dataset folder (see README "Output format"), like ``sklearn.datasets.make_*``.

    Args:
        config: a DatasetConfig, dict, YAML path, or None for the built-in default.
        out_dir: the output folder; must be empty or absent unless ``resume``/``overwrite``.
        num_frames: frames 0..num_frames-1.
        seed: dataset seed; frame i depends only on (config, seed, i).
        workers: processes; results are byte-identical for any count.
        resume: keep complete frames of an interrupted job with the same config/seed/count.
        overwrite: delete an existing vizsynth dataset folder first.
        progress: show a progress bar on stderr.
        executor: schedules FrameTask calls (local processes by default; Ray plugs in here).

    Returns:
        A JobSummary; ``summary.ok`` is False when frames failed (they are listed in the manifest).

    Raises:
        ConfigError, AssetError, OutputError: before anything is written.
    """
    if num_frames < 0:
        raise ConfigError(f"number of frames must be >= 0, got {num_frames}")
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    config = load_config(config)
    out_dir = Path(out_dir)
    library = MeshLibrary()  # loads and checks every asset now, before anything is written
    split, fractions = config.split.use, config.split.fractions
    catalog = build_catalog(config.objects.assets, library, split=split, fractions=fractions)
    build_catalog(config.distractors.assets, library, split=split, fractions=fractions)
    image_pools(config)
    if "bop" in config.output.formats:
        check_bop_config(config, catalog)
    categories = list(catalog.categories)
    config_yaml = config.to_yaml()
    digest = config_digest(config_yaml)
    if executor is run_frames:
        check_rendering()  # a broken GL set-up must fail before anything is written
    prepare_output(out_dir, overwrite=overwrite, resume=resume)
    started = time.perf_counter()
    if resume:
        check_resume(out_dir, digest=digest, seed=seed, num_frames=num_frames, version=__version__)
        remove_stale_temporaries(out_dir)
    manifest = {
        "vizsynth_version": __version__, "seed": seed, "num_frames": num_frames, "config_sha256": digest,
        "categories": categories, "conventions": CONVENTIONS, "status": "running",
    }
    write_bytes_atomic(out_dir / "config.yaml", config_yaml.encode())
    write_json_atomic(out_dir / MANIFEST, manifest)

    todo = [i for i in range(num_frames) if not record_path(out_dir, i).is_file()]
    task = FrameTask(config, seed, out_dir, categories)
    failed: dict[int, str] = {}
    stage_seconds = dict.fromkeys(STAGES, 0.0)
    num_objects = tries = 0
    bar = tqdm(total=num_frames, initial=num_frames - len(todo), unit="frame", disable=not progress,
               dynamic_ncols=True, file=sys.stderr)
    try:
        for outcome in executor(task, todo, workers):
            bar.update(1)
            if outcome.ok:
                num_objects += outcome.num_objects
                tries += outcome.tries
                for stage, seconds in outcome.seconds.items():
                    stage_seconds[stage] += seconds
            else:
                failed[outcome.index] = outcome.error
                bar.set_postfix(failed=len(failed))
    except KeyboardInterrupt:
        bar.close()
        write_json_atomic(out_dir / MANIFEST, {**manifest, "status": "interrupted"})
        raise
    bar.close()
    remove_stale_temporaries(out_dir)  # left by a worker that died mid-write; no writer is active now

    merge_started = time.perf_counter()
    complete = [i for i in range(num_frames) if i not in failed]
    info = {"description": "vizsynth synthetic dataset", "version": __version__, "seed": seed}
    manifest.update(
        status="complete" if not failed else "failed_frames",
        completed=len(complete),
        failed=[{"index": i, "error": failed[i]} for i in sorted(failed)],
        last_run={"rendered": len(todo) - len(failed), "seconds": round(time.perf_counter() - started, 3),
                  "workers": workers, "objects": num_objects,
                  "constraint_acceptance_rate": round((len(todo) - len(failed)) / tries, 4) if tries else None,
                  "stage_seconds": {k: round(v, 3) for k, v in stage_seconds.items()}},
    )
    categories_coco = coco_categories(categories, catalog.category_keypoints())
    label_counts = finish_dataset(out_dir, complete, categories_coco, config.output, info, manifest)
    num_annotations = label_counts.get("coco", num_objects)
    stage_seconds["merge"] = time.perf_counter() - merge_started
    seconds = time.perf_counter() - started
    return JobSummary(out_dir, num_frames, len(complete), len(todo) - len(failed), failed, num_annotations,
                      seconds, stage_seconds, (len(todo) - len(failed)) / tries if tries else None)
