"""generate: a whole dataset job: check the folder, render missing frames, merge, write manifest."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import DatasetConfig, load_config
from vizsynth.errors import ConfigError, Interrupted, OutputError, RecordError
from vizsynth.io.coco import CONVENTIONS, CocoWriter
from vizsynth.io.files import record_path, remove_stale_temporaries, write_bytes_atomic, write_json_atomic
from vizsynth.io.frame_writer import frame_complete
from vizsynth.io.labels import check_label_formats, coco_categories
from vizsynth.io.records import read_record
from vizsynth.maps import FLOW_FOLDERS, MAP_NAMES
from vizsynth.render import check_rendering
from vizsynth.render.devices import deal_devices, egl_device_count, parse_gpus
from vizsynth.run.local import run_frames
from vizsynth.run.outdir import (
    MANIFEST,
    check_resume,
    config_digest,
    finish_dataset,
    format_bytes,
    free_bytes,
    new_manifest,
    prepare_output,
    storage_errors,
    storage_message,
)
from vizsynth.run.task import TIMED_STAGES, FrameOutcome, FrameTask
from vizsynth.validate import ValidationReport
from vizsynth.version import __version__

Executor = Callable[[FrameTask, Iterable[int], int], Iterator[FrameOutcome]]

# Frame files are numbered with 8 digits (io/files.py); beyond that names would stop sorting.
MAX_FRAMES = 100_000_000


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
        stage_seconds: summed per-stage seconds of this run's frames (sample, render, annotate, write) and the
            merge's (the COCO merge while frames render and everything merged after them).
        acceptance_rate: frames rendered / samples drawn under the frame constraints (1.0 without).
        deterministic_failures: the failed frames whose failure depends only on (config, seed, index).
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
    deterministic_failures: frozenset[int] = frozenset()

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
    gpus: str | Sequence[int] | None = None,
) -> JobSummary:
    """Makes a dataset folder (see README "Output format"), like ``sklearn.datasets.make_*``.

    Call it under ``if __name__ == "__main__":`` in a script when ``workers > 1``: worker processes
    are spawned and import the script again.

    Args:
        config: a DatasetConfig, dict, YAML path, or None for the built-in default.
        out_dir: the output folder; must be empty or absent unless ``resume``/``overwrite``.
        num_frames: frames 0..num_frames-1.
        seed: dataset seed; frame i depends only on (config, seed, i).
        workers: processes; results are byte-identical for any count.
        resume: keep complete frames of an interrupted job with the same config/seed/count; frames
            whose record or files are missing or truncated are rendered again. An absent or empty
            folder starts the job.
        overwrite: remove vizsynth's own files from an existing vizsynth dataset folder first
            (refused when the folder holds anything else, see ``run/outdir.py``).
        progress: show a progress bar on stderr.
        executor: schedules FrameTask calls (local processes by default; Ray plugs in here).
        gpus: EGL devices for the local runner's workers, dealt in turn (one worker group per
            GPU): ``"all"``, ``"0,1"`` or a list of indices; default ``EGL_DEVICE_ID``, else 0.

    Returns:
        A JobSummary; ``summary.ok`` is False when frames failed (they are listed in the manifest).

    Raises:
        ConfigError, AssetError, RenderError: before anything is written.
        OutputError: an unusable folder (before anything is written), or storage that became full
            or read-only during the job (the manifest records it; ``resume`` finishes the job).
        Interrupted: SIGTERM/SIGHUP (KeyboardInterrupt for SIGINT); the manifest says "interrupted".
    """
    _refuse_inside_worker_import(workers)
    if num_frames < 0 or num_frames > MAX_FRAMES:
        raise ConfigError(f"number of frames must be in [0, {MAX_FRAMES}] (frame files have 8 digits), "
                          f"got {num_frames}")
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    config = load_config(config)
    out_dir = Path(out_dir)
    # Every asset and image is loaded and checked now, before anything is written (resting poses are
    # the workers' business).
    catalog = load_config_assets(config, resting=False).catalog
    check_label_formats(config, catalog)
    categories = list(catalog.categories)
    config_yaml = config.to_yaml()
    if executor is run_frames:  # a broken GL set-up or a too-large image must fail before anything is written
        check_rendering(config.image.width, config.image.height)
        if gpus is not None:
            executor = functools.partial(run_frames, egl_devices=_egl_devices(gpus, workers))
    elif gpus is not None:
        raise ConfigError("gpus chooses EGL devices for the local runner; Ray places its actors on GPUs itself "
                          "(--ray-gpus-per-worker)")

    with _signals_interrupt():
        recorded = prepare_output(out_dir, overwrite=overwrite, resume=resume)
        started = time.perf_counter()
        manifest = new_manifest(
            vizsynth_version=__version__, seed=seed, num_frames=num_frames, config_sha256=config_digest(config_yaml),
            categories=categories, conventions=CONVENTIONS, status="starting",
        )
        with storage_errors(out_dir):
            if recorded is not None:
                check_resume(out_dir, recorded, config_yaml=config_yaml, seed=seed, num_frames=num_frames,
                             version=__version__)
                remove_stale_temporaries(out_dir)
            else:
                write_json_atomic(out_dir / MANIFEST, manifest)  # first: the folder is ours from now on
            write_bytes_atomic(out_dir / "config.yaml", config_yaml.encode())
            manifest["status"] = "running"
            write_json_atomic(out_dir / MANIFEST, manifest)
        try:
            return _run_job(config, out_dir, num_frames, seed, workers, executor, catalog, categories, manifest,
                            resuming=recorded is not None, progress=progress, started=started)
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            _record_status(out_dir, manifest, "interrupted", signal=signal.Signals(signum).name)
            raise


def _run_job(config: DatasetConfig, out_dir: Path, num_frames: int, seed: int, workers: int, executor: Executor,
             catalog, categories: list[str], manifest: dict, *, resuming: bool, progress: bool,
             started: float) -> JobSummary:
    task = FrameTask(config, seed, out_dir, categories)
    failed: dict[int, FrameOutcome] = {}
    stage_seconds = dict.fromkeys(TIMED_STAGES, 0.0)
    num_objects = tries = rendered = kept = 0
    last_rendered: int | None = None
    storage_failure: FrameOutcome | None = None
    bar = tqdm(total=num_frames, unit="frame", disable=not progress, dynamic_ncols=True, file=sys.stderr)
    categories_coco = coco_categories(categories, catalog.category_keypoints())
    coco = CocoWriter(out_dir, categories_coco, config.output.coco_segmentation, ValidationReport(str(out_dir))) \
        if "coco" in config.output.formats else None
    merging = _MergeInOrder(coco, out_dir)

    def todo() -> Iterator[int]:
        """Frames still to render, found lazily: nothing before the first frame scales with -n."""
        nonlocal kept
        for index in range(num_frames):
            if resuming and frame_complete(out_dir, index):
                kept += 1
                merging.kept(index)
                bar.update(1)
            else:
                yield index

    with contextlib.ExitStack() as cleanup:
        if coco is not None:
            cleanup.enter_context(coco)  # its temporary files go whatever ends the job
        with bar, contextlib.closing(executor(task, todo(), workers)) as outcomes:
            for outcome in outcomes:
                bar.update(1)
                if outcome.ok:
                    rendered += 1
                    last_rendered = outcome.index
                    num_objects += outcome.num_objects
                    tries += outcome.tries
                    for stage, seconds in outcome.seconds.items():
                        stage_seconds[stage] += seconds
                    merging.done(outcome.index, ok=True)
                    continue
                failed[outcome.index] = outcome
                merging.done(outcome.index, ok=False)
                bar.set_postfix(failed=len(failed))
                if outcome.storage_error:
                    storage_failure = outcome
                    break  # every further frame would fail the same way: stop handing them out
        if storage_failure is not None:
            merging.drop()  # its temporary files hold room the manifest needs
            _stop_on_full_storage(out_dir, manifest, storage_failure, failed, num_frames - kept - rendered,
                                  last_rendered)
        with storage_errors(out_dir):
            # left by a worker that died mid-write; no writer is active now (the COCO writer's are in use)
            remove_stale_temporaries(out_dir, keep=None if merging.writer is None else merging.writer.temporary)

        merge_started = time.perf_counter()
        complete = [i for i in range(num_frames) if i not in failed]
        info = {"description": "vizsynth synthetic dataset", "version": __version__, "seed": seed}
        manifest.update(
            status="complete" if not failed else "failed_frames",
            completed=len(complete),
            failed=_failure_entries(failed),
            last_run={"rendered": rendered, "seconds": round(time.perf_counter() - started, 3),
                      "workers": workers, "objects": num_objects,
                      "constraint_acceptance_rate": round(rendered / tries, 4) if tries else None,
                      "stage_seconds": {k: round(v, 3) for k, v in stage_seconds.items()}},
        )
        try:
            label_counts = finish_dataset(out_dir, complete, categories_coco, config.output, info, manifest,
                                          coco=merging.writer)
        except OSError as exc:
            _record_status(out_dir, manifest, "merge_failed", error=str(exc))
            raise OutputError(storage_message(out_dir, exc) + "; the frames are kept: once the problem is fixed, "
                              "run the same command with --resume to redo the merge") from None
    num_annotations = label_counts.get("coco", num_objects)
    stage_seconds["merge"] = time.perf_counter() - merge_started + merging.seconds
    seconds = time.perf_counter() - started
    return JobSummary(out_dir, num_frames, len(complete), rendered, {i: o.error for i, o in failed.items()},
                      num_annotations, seconds, stage_seconds, rendered / tries if tries else None,
                      frozenset(i for i, o in failed.items() if o.deterministic))


class _MergeInOrder:
    """Gives the COCO writer each frame as soon as it and every frame before it are done (written,
    kept from an earlier run, or failed and so left out), so most of the merge runs while later
    frames render; the merge after the last frame then has only what is left.

    Whatever goes wrong here (a record that does not parse, storage) drops the writer: the merge
    after the frames then does everything again, and reports the problem as it always did.
    """

    def __init__(self, writer: CocoWriter | None, out_dir: Path) -> None:
        self.writer = writer
        self.out_dir = out_dir
        self.seconds = 0.0  # merging time spent while frames render
        self._waiting: dict[int, bool] = {}  # done, not yet merged: in the labels (True) or failed
        self._next = 0

    def kept(self, index: int) -> None:
        """Frame ``index`` is whole on disk from an earlier run (merged with the next frame done)."""
        if self.writer is not None:
            self._waiting[index] = True

    def done(self, index: int, ok: bool) -> None:
        """Frame ``index`` was rendered and written (``ok``) or failed; merges what is now in order."""
        if self.writer is None:
            return
        self._waiting[index] = ok
        started = time.perf_counter()
        try:
            while self._next in self._waiting:
                if self._waiting.pop(self._next):
                    self.writer.add(self._next, read_record(self.out_dir, self._next))
                self._next += 1
        except (OSError, RecordError):  # the merge after the frames does it all again and reports it
            self.drop()
        self.seconds += time.perf_counter() - started

    def drop(self) -> None:
        """Stops merging early and removes the writer's temporary files."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _failure_entries(failed: dict[int, FrameOutcome]) -> list[dict]:
    return [{"index": i, "error": failed[i].error, "deterministic": failed[i].deterministic} for i in sorted(failed)]


def _stop_on_full_storage(out_dir: Path, manifest: dict, outcome: FrameOutcome, failed: dict[int, FrameOutcome],
                          left: int, sample: int | None) -> None:
    """Records a full or read-only output storage in the manifest and raises one OutputError.

    Args:
        left: frames not complete on disk.
        sample: a frame rendered by this run, whose size estimates what each further frame needs.
    """
    per_frame = _frame_bytes(out_dir, sample) if sample is not None else 0
    with contextlib.suppress(OSError):  # room for the manifest: partial files, and files of frames without a record
        remove_stale_temporaries(out_dir)
        for index in failed:
            for path in _frame_files(out_dir, index):
                path.unlink()
    _record_status(out_dir, manifest, "storage_error", failed=_failure_entries(failed), error=outcome.error)
    need = (f", about {format_bytes(2 * per_frame * left)} more needed for the {left} frames left and the merged "
            "labels" if per_frame else "")
    raise OutputError(
        f"cannot write to output folder {out_dir}: {outcome.error.splitlines()[0]}; "
        f"{format_bytes(free_bytes(out_dir))} free{need}. Frames written so far are kept: free space (or make the "
        "folder writable), then run the same command with --resume"
    )


def _frame_files(out_dir: Path, index: int) -> list[Path]:
    """The files of frame ``index`` that exist, its record included."""
    record = record_path(out_dir, index)
    files = [record] if record.is_file() else []
    for folder in ("images", "depth", "instances", *MAP_NAMES, *FLOW_FOLDERS):
        files += (out_dir / folder / record.parent.name).glob(f"{record.stem}.*")
    return files


def _frame_bytes(out_dir: Path, index: int) -> int:
    """Bytes of frame ``index``'s record and files (an estimate of what each further frame needs)."""
    return sum(path.stat().st_size for path in _frame_files(out_dir, index))


def _record_status(out_dir: Path, manifest: dict, status: str, **fields) -> None:
    """Best effort: the manifest records how the job ended (it cannot when the disk refuses even that)."""
    manifest.update(status=status, **fields)
    with contextlib.suppress(OSError):
        write_json_atomic(out_dir / MANIFEST, manifest)


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Interrupted, so a job stops like on Ctrl-C (workers stopped, manifest
    "interrupted"). Only the main thread can take signal handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise Interrupted(signum)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _egl_devices(gpus: str | Sequence[int], workers: int) -> list[int]:
    """The EGL devices ``gpus`` names, checked against this machine's and the worker count.

    Raises:
        ConfigError: a device that does not exist, or fewer workers than devices.
    """
    text = gpus if isinstance(gpus, str) else ",".join(str(d) for d in gpus)
    devices = parse_gpus(text, egl_device_count())
    deal_devices(devices, workers)
    return devices


def _refuse_inside_worker_import(workers: int) -> None:
    """A spawned worker imports the caller's script again; a top-level generate() call there would
    start a job inside every worker. Say so, instead of the pool's opaque start-up failure."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        from vizsynth.run.local import WORKER_IMPORT_EXIT

        sys.stderr.write(f"vizsynth: error: vizsynth.generate(..., workers={workers}) ran again while a worker "
                         "process imported your script: call it under 'if __name__ == \"__main__\":'\n")
        sys.stderr.flush()
        os._exit(WORKER_IMPORT_EXIT)
