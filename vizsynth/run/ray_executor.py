"""Ray executor: long-lived actors, each with one GL context, render chunks of frames.

Plug it into ``generate(..., executor=RayExecutor(...))`` (the CLI: ``--executor ray``). Workers
write frames straight into the output folder, which on a cluster must be a filesystem every
node sees at the same path; the driver merges exactly as the local runner does.

Robustness: actors restart when lost (``max_restarts=-1``); a chunk whose actor died is handed
out again. Re-rendering a frame writes the same bytes through the same atomic renames, so a
retried chunk can never corrupt a frame.
"""

from __future__ import annotations

import heapq
import itertools
import os
import time
from collections.abc import Iterable, Iterator

from vizsynth.errors import RenderError, VizsynthError
from vizsynth.render import devices
from vizsynth.run.local import render_threads
from vizsynth.run.task import FrameOutcome, FrameTask, writer_threads_for
from vizsynth.run.worker_process import tune_worker_process

_MAX_CHUNK_TRIES = 5
_MAX_PROBES = 120  # readiness probes of a lost actor (spread over about 110 s) before it is given up
_calls = itertools.count()


def _require_ray():
    try:
        import ray
    except ImportError:
        raise VizsynthError("--executor ray needs Ray: pip install 'vizsynth[ray]'") from None
    return ray


def _actor_errors(ray) -> tuple:
    names = ("RayActorError", "ActorUnavailableError", "ActorDiedError")
    return tuple(getattr(ray.exceptions, n) for n in names if hasattr(ray.exceptions, n))


class _FrameActor:
    """Holds one FrameTask (GL context + meshes) for the actor's lifetime."""

    def __init__(self, task: FrameTask, lp_threads: int) -> None:
        import ray

        gpu_ids = ray.get_gpu_ids()
        if gpu_ids:  # physical ids; the actor's CUDA numbering follows the CUDA_VISIBLE_DEVICES Ray set
            ordinal = devices.cuda_ordinal(gpu_ids[0], os.environ.get("CUDA_VISIBLE_DEVICES"))
            os.environ[devices.ENV] = str(devices.egl_device_for_cuda(ordinal))
        self._task = task
        tune_worker_process(lp_threads)
        with render_threads(lp_threads):
            task.setup(writer_threads_for(lp_threads))

    def ready(self) -> bool:
        return True

    def run(self, indices: list[int]) -> list[FrameOutcome]:
        return [self._task(i) for i in indices]


class RayExecutor:
    """Schedules FrameTasks on Ray actors; call it like ``run_frames``.

    Args:
        address: Ray cluster address (``ray://...`` or ``auto``); None starts or reuses a local Ray.
        cpus_per_worker: CPUs each actor reserves (also its llvmpipe thread count).
        gpus_per_worker: GPUs each actor reserves; fractions let actors share a GPU.
        chunk_size: frames per task (amortises scheduling; smaller = finer load balance).
    """

    def __init__(self, address: str | None = None, cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0,
                 chunk_size: int = 4) -> None:
        self.address = address
        self.cpus_per_worker = cpus_per_worker
        self.gpus_per_worker = gpus_per_worker
        self.chunk_size = chunk_size

    def __call__(self, task: FrameTask, indices: Iterable[int], workers: int) -> Iterator[FrameOutcome]:
        ray = _require_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        actor_class = ray.remote(_FrameActor)
        call = next(_calls)
        actors = [
            actor_class.options(
                name=f"vizsynth-{os.getpid()}-{call}-{i}", max_restarts=-1, max_task_retries=0,
                num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker,
            ).remote(task, max(1, int(self.cpus_per_worker)))
            for i in range(max(1, workers))
        ]
        try:  # an actor that cannot set up (no EGL, a bad asset) must stop the job with its reason
            ray.get([actor.ready.remote() for actor in actors])
        except Exception as exc:
            for actor in actors:
                ray.kill(actor, no_restart=True)
            cause = getattr(exc, "cause", None) or exc
            raise RenderError(f"Ray workers could not set up their renderer: {type(cause).__name__}: {cause}") from None
        todo = iter(indices)
        retry: list[list[int]] = []  # chunks whose actor was lost, handed out again first

        def next_chunk() -> list[int]:
            return retry.pop(0) if retry else list(itertools.islice(todo, self.chunk_size))

        pending: dict = {}  # object ref -> (actor, its chunk, or None for a readiness probe)
        idle = list(actors)  # actors with nothing to do
        tries: dict[int, int] = {}
        probes: dict = {}  # actor -> failed readiness probes in a row
        due: list[tuple[float, int, object]] = []  # (when, tie-break, actor): probes to send later
        order = itertools.count()
        try:
            while True:
                while idle and (chunk := next_chunk()):
                    self._submit(idle.pop(0), chunk, pending)
                now = time.monotonic()
                while due and due[0][0] <= now:
                    _, _, actor = heapq.heappop(due)
                    pending[actor.ready.remote()] = (actor, None)
                if not pending and not due:
                    break
                wait_s = None if not due else max(0.0, due[0][0] - now)
                if not pending:
                    time.sleep(wait_s)
                    continue
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=wait_s)
                if not ready:
                    continue
                actor, chunk = pending.pop(ready[0])
                try:
                    outcomes = ray.get(ready[0])
                except _actor_errors(ray):
                    if chunk is not None:
                        first = chunk[0]
                        tries[first] = tries.get(first, 0) + 1
                        if tries[first] >= _MAX_CHUNK_TRIES:
                            for index in chunk:
                                yield FrameOutcome(index, False, error=f"Ray actor lost {_MAX_CHUNK_TRIES} times",
                                                   attempts=2)
                        else:
                            retry.append(chunk)  # another actor, or this one once it is back, takes it
                    # The actor restarts: probe it, a little later each time, until it is back before
                    # it gets work again (a chunk must not be spent on an actor still starting);
                    # meanwhile the other actors' results keep being collected. Give it up after that.
                    probes[actor] = probes.get(actor, 0) + 1
                    if probes[actor] <= _MAX_PROBES:
                        heapq.heappush(due, (time.monotonic() + min(1.0, 0.05 * probes[actor]), next(order), actor))
                    continue
                probes.pop(actor, None)
                if chunk is not None:
                    yield from outcomes
                idle.append(actor)
            # Only when every actor was given up: what is left fails.
            for index in itertools.chain.from_iterable(iter(next_chunk, [])):
                yield FrameOutcome(index, False, error="every Ray actor was lost and did not come back", attempts=1)
        finally:
            for actor in actors:
                ray.kill(actor, no_restart=True)

    @staticmethod
    def _submit(actor, chunk: list[int], pending: dict) -> None:
        pending[actor.run.remote(chunk)] = (actor, chunk)
