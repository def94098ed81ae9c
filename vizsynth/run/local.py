"""Local executors: frames handed out one at a time to a pool of processes, or run in-process.

Each pool worker keeps one FrameTask (one GL context, meshes uploaded once). Mesa's llvmpipe
starts its own render threads; with several workers on a CPU they would fight the pool, so each
worker gets ``LP_NUM_THREADS`` = cores // workers (unless the user set it).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterable, Iterator

from vizsynth.run.task import FrameOutcome, FrameTask

# The pool initializer's FrameTask, one per worker process (a pool has no other way to keep
# per-process state between tasks). Only ever set inside worker processes.
_WORKER_TASK: FrameTask | None = None


def _init_worker(task: FrameTask, lp_threads: int) -> None:
    global _WORKER_TASK
    with _default_env("LP_NUM_THREADS", str(lp_threads)):
        task.setup()
    _WORKER_TASK = task


def _run_in_worker(index: int) -> FrameOutcome:
    return _WORKER_TASK(index)


@contextlib.contextmanager
def _default_env(name: str, value: str) -> Iterator[None]:
    """Sets an environment variable the user did not set, for the duration of the block only."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        del os.environ[name]


def llvmpipe_threads(workers: int) -> int:
    """Render threads per worker that keep workers x threads within the machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def run_frames(task: FrameTask, indices: Iterable[int], workers: int) -> Iterator[FrameOutcome]:
    """Yields the outcome of every index as frames finish (in completion order).

    With ``workers == 1`` frames run in this process; otherwise in a spawn-started pool (a GL
    context must never be inherited through fork).
    """
    indices = list(indices)
    if workers <= 1:
        with _default_env("LP_NUM_THREADS", str(llvmpipe_threads(1))):
            task.setup()  # llvmpipe reads LP_NUM_THREADS when the context is made
        try:
            for index in indices:
                yield task(index)
        finally:
            task.close()
        return
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers, initializer=_init_worker, initargs=(task, llvmpipe_threads(workers)))
    try:
        yield from pool.imap_unordered(_run_in_worker, indices, chunksize=1)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
