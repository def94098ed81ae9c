"""Throughput and memory of vizsynth on the default config, measured in one run.

    python benchmarks/throughput.py                       # 200 frames, 1 worker
    python benchmarks/throughput.py --workers 1 2         # scaling
    python benchmarks/throughput.py -n 2000 --workers 1   # memory growth over 2,000 frames
    python benchmarks/throughput.py --workers 2 --ray     # also Ray actors vs the local pool

For each worker count it measures, on the same frames 0..N-1 of the built-in default (640x480):
  (a) render-only: sampling + render, nothing annotated or written;
  (b) end-to-end: vizsynth.generate, everything written and merged;
and prints both, their ratio (b)/(a), the per-stage breakdown of (b), each worker's resident
memory after its first and its last frame, and end-to-end scaling against one worker.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import tempfile
import time
from collections import defaultdict

import vizsynth
from vizsynth.config import load_config
from vizsynth.frame import FrameRenderer
from vizsynth.run.local import llvmpipe_threads, render_threads, run_frames
from vizsynth.run.task import resident_bytes

_FRAMES: FrameRenderer | None = None  # per benchmark worker process


def _init(config, seed, lp_threads):
    global _FRAMES
    with render_threads(lp_threads):  # same rule as vizsynth's own workers
        _FRAMES = FrameRenderer(config, seed)


def _render_only(index):
    _FRAMES.render(_FRAMES.scene(index))
    return os.getpid(), resident_bytes()


def render_only(config, n, seed, workers) -> float:
    """Frames per second of sampling + rendering alone (the GL context is made before timing)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_init, initargs=(config, seed, llvmpipe_threads(workers))) as pool:
        pool.map(_render_only, range(workers), chunksize=1)  # warm every worker up
        start = time.perf_counter()
        for _ in pool.imap_unordered(_render_only, range(n), chunksize=1):
            pass
        return n / (time.perf_counter() - start)


def end_to_end(config, n, seed, workers, scheduler=run_frames):
    """Frames per second of vizsynth.generate, with its stage seconds and per-worker memory."""
    memory = defaultdict(list)
    arrivals = []

    def executor(task, indices, w):
        for outcome in scheduler(task, indices, w):
            if not memory[outcome.pid]:
                memory[outcome.pid].append(outcome.setup_rss_bytes)
            memory[outcome.pid].append(outcome.rss_bytes)
            arrivals.append(time.perf_counter())
            yield outcome

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = vizsynth.generate(config, f"{tmp}/data", n, seed=seed, workers=workers, progress=False,
                                    executor=executor)
        seconds = time.perf_counter() - start
    assert summary.ok, summary.failed
    # Steady state: frames after the first, between the first and the last arrival (no start-up, no merge).
    steady = (n - 1) / (arrivals[-1] - arrivals[0]) if n > 1 else float("nan")
    return n / seconds, summary, memory, steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--num-frames", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ray", action="store_true", help="also run end-to-end on local Ray actors")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    config = load_config(None, args.overrides)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
          f"PYOPENGL_PLATFORM={os.environ.get('PYOPENGL_PLATFORM', 'egl (vizsynth default)')}")
    print(f"config: built-in default {config.image.width}x{config.image.height}, {config.output.image_format}, "
          f"{args.num_frames} frames, seed {args.seed}")
    base = None
    for workers in args.workers:
        a = render_only(config, args.num_frames, args.seed, workers)
        b, summary, memory, steady = end_to_end(config, args.num_frames, args.seed, workers)
        base = base or b
        stages = summary.stage_seconds
        per_frame = {k: 1000 * v / args.num_frames for k, v in stages.items()}
        print(f"\nworkers={workers}")
        print(f"  (a) render-only : {a:7.1f} frames/s")
        print(f"  (b) end-to-end  : {b:7.1f} frames/s   (b)/(a) = {b / a:.2f}   scaling vs first = {b / base:.2f}x")
        print(f"      steady state: {steady:7.1f} frames/s   (without worker start-up and the final merge)")
        print("  stage ms/frame (summed over workers): " +
              ", ".join(f"{k} {v:.1f}" for k, v in per_frame.items()))
        for pid, rss in sorted(memory.items()):
            print(f"  worker {pid}: {len(rss) - 1} frames, RSS {rss[0] / 2**20:.0f} MB at start (after set-up) -> "
                  f"{rss[1] / 2**20:.0f} MB after its first frame -> {rss[-1] / 2**20:.0f} MB after its last "
                  f"({(rss[-1] - rss[1]) / 2**20:+.1f} MB over its frames)")
        if args.ray:
            import ray

            from vizsynth.run.ray_executor import RayExecutor

            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
            r, _, _, _ = end_to_end(config, args.num_frames, args.seed, workers, RayExecutor())
            ray.shutdown()
            print(f"  (c) end-to-end on Ray actors: {r:7.1f} frames/s   Ray / local pool = {r / b:.2f}")


if __name__ == "__main__":
    main()
