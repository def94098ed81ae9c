"""FrameTask: the per-frame work of a generation job, independent of who schedules it.

An executor (local process pool, Ray actor, plain loop) makes one FrameTask per process, calls
``setup()`` once, then ``task(index)`` for each frame it is handed. The outcome is small plain data.
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from vizsynth.config import DatasetConfig
from vizsynth.errors import AssetError, ConfigError, PlacementError, SceneError
from vizsynth.io.frame_writer import WRITER_THREADS, write_frame
from vizsynth.pipeline import FrameRenderer
from vizsynth.run.outdir import STORAGE_ERRNOS
from vizsynth.version import __version__

TIMED_STAGES = ("sample", "render", "annotate", "write")
# Failures that depend only on (config, seed, index).
_DETERMINISTIC = (AssetError, ConfigError, PlacementError, SceneError)


@dataclass(frozen=True)
class FrameOutcome:
    """What happened to one frame.

    Attributes:
        index: the frame.
        ok: whether its files and record were written.
        num_objects: annotations written (visible objects).
        error: the last error message when not ok, else None.
        attempts: 1, or 2 when the first try failed.
        seconds: per-stage wall time of the successful try.
        pid: the process that ran it.
        rss_bytes: that process's resident memory after the frame.
        setup_rss_bytes: its resident memory right after set-up (GL context, assets), before any frame.
        tries: samples drawn until the frame met the frame constraints (1 without constraints).
        deterministic: the failure follows from (config, seed, index) alone (e.g. constraints that
            cannot be met): rendering the frame again fails the same way.
        storage_error: the output storage is full or read-only: no further frame can be written.
    """

    index: int
    ok: bool
    num_objects: int = 0
    error: str | None = None
    attempts: int = 1
    seconds: dict = field(default_factory=dict)
    pid: int = 0
    rss_bytes: int = 0
    setup_rss_bytes: int = 0
    tries: int = 1
    deterministic: bool = False
    storage_error: bool = False


def writer_threads_for(cores: int) -> int:
    """Writer threads for a worker that has ``cores`` cores to itself: the worker's thread waits
    while a frame's images are encoded, so they may use all of them (at most ``WRITER_THREADS``).
    None with one core: there, threads add hand-over CPU time (about 2 ms a frame at 640x480) and
    gain no wall time, which is the case on a machine where every core has a worker.
    """
    return 0 if cores < 2 else min(WRITER_THREADS, int(cores))


def resident_bytes() -> int:
    """This process's resident set size in bytes (0 where /proc is unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


class FrameTask:
    """Renders and writes frames of one job in the current process."""

    def __init__(self, config: DatasetConfig, seed: int, out_dir: Path, categories: list[str]) -> None:
        self.config = config
        self.seed = seed
        self.out_dir = Path(out_dir)
        self.categories = categories
        self._frames: FrameRenderer | None = None
        self._writers: ThreadPoolExecutor | None = None
        self._setup_rss = 0

    def setup(self, writer_threads: int = WRITER_THREADS) -> None:
        """Loads assets and opens the GL context (once per process).

        Args:
            writer_threads: threads a frame's images are encoded and written on at once; 0 writes
                them one after another in the calling thread (see ``writer_threads_for``).
        """
        if self._frames is None:
            self._frames = FrameRenderer(self.config, self.seed, self.categories)
            if writer_threads > 0:
                self._writers = ThreadPoolExecutor(writer_threads, thread_name_prefix="vizsynth-writer")
            self._setup_rss = resident_bytes()

    def close(self) -> None:
        if self._frames is not None:
            try:
                self._frames.close()
            finally:
                if self._writers is not None:
                    self._writers.shutdown()
                self._frames = self._writers = None

    def __call__(self, index: int) -> FrameOutcome:
        """Renders and writes frame ``index``, retrying once; never raises for a frame's failure.

        A deterministic failure (a VizsynthError about the config, assets, scene or placement) and a
        full or read-only storage are not retried: a second try would fail the same way.
        """
        self.setup()
        attempt = 1
        while True:
            try:
                seconds, num_objects, tries = self._run(index)
                return FrameOutcome(index, True, num_objects, None, attempt, seconds, os.getpid(), resident_bytes(),
                                    self._setup_rss, tries)
            except Exception as exc:  # a frame's failure must not stop the job: record it
                deterministic = isinstance(exc, _DETERMINISTIC)
                storage = isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS
                error = f"{type(exc).__name__}: {exc}"
                if not (deterministic or storage):
                    error += "\n" + traceback.format_exc(limit=3)
                if deterministic or storage or attempt == 2:
                    return FrameOutcome(index, False, 0, error, attempt, {}, os.getpid(), resident_bytes(),
                                        self._setup_rss, deterministic=deterministic, storage_error=storage)
                attempt += 1

    def _run(self, index: int) -> tuple[dict, int, int]:
        timings: dict = {}
        frame = self._frames.frame(index, timings)
        started = time.perf_counter()
        info = {"vizsynth_version": __version__, "seed": self.seed, "tries": timings["tries"]}
        write_frame(self.out_dir, frame, self.config.output, info, self._writers)
        seconds = {"sample": timings["sample"], "render": timings["render"], "annotate": timings["annotate"],
                   "write": time.perf_counter() - started}
        return seconds, len(frame.annotations.visible), timings["tries"]
