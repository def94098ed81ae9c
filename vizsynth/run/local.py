"""Local executors: frames handed out one at a time to a pool of processes, or run in-process.

Each pool worker keeps one FrameTask (one GL context, meshes uploaded once). Mesa's llvmpipe
starts its own render threads; with several workers on a CPU they would fight the pool, so each
worker gets ``LP_NUM_THREADS`` = cores // workers (unless the user set it).

A worker that dies (killed, out of memory, a crash in the GL driver) breaks the pool: the frames
it had in flight are handed out again in a new pool, and a frame that was in flight in two
broken pools is reported as failed, so a job always ends.

With ``egl_devices`` (``--gpus``), workers are dealt to those EGL devices in turn: one worker
group per GPU of the machine (see ``render/devices.py``).

Workers never outlive the job's process: each watches its parent's sentinel and exits when the
parent is gone, whatever ended it (kill -9 included).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from vizsynth.errors import RenderError
from vizsynth.render.devices import deal_devices, egl_device
from vizsynth.run.task import FrameOutcome, FrameTask, writer_threads_for
from vizsynth.run.worker_process import tune_worker_process

MAX_CRASHES = 2
# Exit status of a worker that found generate() called at its script's top level (run/job.py).
WORKER_IMPORT_EXIT = 87

# The pool initializer's FrameTask, one per worker process (a pool has no other way to keep
# per-process state between tasks). Only ever set inside worker processes.
_WORKER_TASK: FrameTask | None = None


@contextlib.contextmanager
def render_threads(threads: int) -> Iterator[None]:
    """Sets ``LP_NUM_THREADS`` (llvmpipe's render threads) for the block, unless the user set it.

    llvmpipe reads it when a GL context is made, so make the context inside the block.
    """
    if "LP_NUM_THREADS" in os.environ:
        yield
        return
    os.environ["LP_NUM_THREADS"] = str(threads)
    try:
        yield
    finally:
        del os.environ["LP_NUM_THREADS"]


def llvmpipe_threads(workers: int) -> int:
    """Render threads per worker that keep workers x threads within the machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _exit_with_parent() -> None:
    """Ends this worker as soon as its parent process is gone (a daemon thread waits on its sentinel)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="vizsynth-parent-watch", daemon=True).start()


def _init_worker(task: FrameTask, threads: int, devices) -> None:
    global _WORKER_TASK
    _exit_with_parent()
    device = None if devices is None else devices.get()
    tune_worker_process(threads)
    with render_threads(threads), egl_device(device):
        task.setup(writer_threads_for(threads))
    _WORKER_TASK = task


def _run_in_worker(index: int) -> FrameOutcome:
    return _WORKER_TASK(index)


def _ready() -> bool:
    return _WORKER_TASK is not None


def _start_pool(task: FrameTask, workers: int, egl_devices: Sequence[int] | None) -> ProcessPoolExecutor:
    """A pool whose every worker has set up its FrameTask (GL context, assets), on its EGL device.

    Raises:
        RenderError: a worker could not set up (its error is printed by the worker).
    """
    context = multiprocessing.get_context("spawn")
    dealt = None
    if egl_devices is not None:  # each starting worker takes the next device of the deal
        dealt = context.Queue()
        for device in deal_devices(egl_devices, workers):
            dealt.put(device)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                               initargs=(task, llvmpipe_threads(workers), dealt))
    try:
        for future in [pool.submit(_ready) for _ in range(workers)]:
            future.result()
    except BrokenProcessPool:
        # The pool's own processes, taken before shutdown forgets them; their exit codes are known
        # once shutdown has joined them: how did the workers end?
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=True, cancel_futures=True)
        for process in processes:
            process.join(timeout=10)
        if WORKER_IMPORT_EXIT in {p.exitcode for p in processes}:
            raise RenderError(
                "worker processes import the script that called vizsynth.generate(..., workers>1), and the "
                "call ran again there: put it under 'if __name__ == \"__main__\":'"
            ) from None
        raise RenderError(
            "worker processes could not set up their renderer (the error is printed above); "
            "try --workers 1 to see it in this process"
        ) from None
    return pool


def run_frames(task: FrameTask, indices: Iterable[int], workers: int,
               egl_devices: Sequence[int] | None = None) -> Iterator[FrameOutcome]:
    """Yields the outcome of every index as frames finish (in completion order).

    ``indices`` is consumed lazily, a few frames ahead of the workers. With ``workers == 1`` frames
    run in this process; otherwise in spawn-started worker processes (a GL context must never be
    inherited through fork), at most two frames in flight per worker. ``egl_devices``: the EGL
    devices workers are dealt to (default: ``EGL_DEVICE_ID``, else device 0).
    """
    if workers <= 1:
        device = None if egl_devices is None else deal_devices(egl_devices, 1)[0]
        with render_threads(llvmpipe_threads(1)), egl_device(device):
            task.setup(writer_threads_for(llvmpipe_threads(1)))
        try:
            for index in indices:
                yield task(index)
        finally:
            task.close()
        return
    todo = iter(indices)
    first = next(todo, None)
    if first is None:  # nothing to do: start no workers
        return
    todo = itertools.chain([first], todo)
    # Frames that were in flight when a pool broke: run alone, so a crash names its frame.
    suspects: deque[int] = deque()
    crashes: dict[int, int] = {}
    exhausted = False
    while not exhausted or suspects:
        pool = _start_pool(task, workers, egl_devices)
        in_flight: dict = {}
        try:
            while True:
                if suspects:
                    if not in_flight:
                        index = suspects.popleft()
                        in_flight[pool.submit(_run_in_worker, index)] = index
                else:
                    while not exhausted and len(in_flight) < 2 * workers:
                        index = next(todo, None)
                        if index is None:
                            exhausted = True
                        else:
                            in_flight[pool.submit(_run_in_worker, index)] = index
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()  # raises BrokenProcessPool if a worker died
                    del in_flight[future]
                    yield outcome
        except BrokenProcessPool:
            if len(in_flight) == 1:
                (index,) = in_flight.values()
                crashes[index] = crashes.get(index, 0) + 1
                if crashes[index] >= MAX_CRASHES:
                    yield FrameOutcome(index, False, attempts=MAX_CRASHES, error=(
                        f"the worker process died (killed, out of memory, a crash in the GL driver, or it "
                        f"could not start) while rendering this frame alone, {MAX_CRASHES} times"))
                else:
                    suspects.appendleft(index)
            else:
                suspects.extend(sorted(in_flight.values()))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
