"""Throughput and memory of vizsynth on the default config, measured in one run.

    python benchmarks/throughput.py                       # 500 frames, 1 worker
    python benchmarks/throughput.py --workers 1 2         # scaling
    python benchmarks/throughput.py -n 2000 --workers 1   # memory growth over 2,000 frames
    python benchmarks/throughput.py --workers 2 --ray     # also Ray actors vs the local pool
    python benchmarks/throughput.py --memory-frames 10000 --size 160x120   # RSS slope of one worker
    python benchmarks/throughput.py --stages [--compare REV]   # CPU ms per stage, GL wait apart (cpu_stages.py)

For each worker count it measures, on the same frames 0..N-1 of the built-in default (640x480):
  (a) render-only: sampling + render, nothing annotated or written;
  (b) end-to-end: vizsynth.generate, everything written and merged;
and prints both, their ratio (b)/(a), the per-stage breakdown of (b), each worker's resident
memory after its first and its last frame, and end-to-end scaling against one worker.

With ``--memory-frames N`` it measures only memory: one fresh worker process runs a generate
worker's per-frame work (FrameTask: sample, render, annotate, write) on frames 0..N-1, records its
resident memory after every frame, and prints the slope of a least-squares line through the
frames after the warm-up, in KB per frame (target: < 0.2 KB/frame over >= 10,000 frames). The
warm-up is left out because the renderer's node pool and Python's and NumPy's free lists still
fill up then; growth that goes on after it is a leak.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import vizsynth
from vizsynth.assets.catalog import build_catalog
from vizsynth.assets.meshes import MeshLibrary
from vizsynth.config import load_config
from vizsynth.pipeline import FrameRenderer
from vizsynth.run.local import llvmpipe_threads, render_threads, run_frames
from vizsynth.run.task import FrameTask, resident_bytes
from vizsynth.run.worker_process import tune_worker_process

MEMORY_TARGET_KB_PER_FRAME = 0.2

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
    # The job's start-up (to the first frame) and what follows its last frame (workers stopping, the merge's rest).
    ends = (arrivals[0] - start, start + seconds - arrivals[-1])
    return n / seconds, summary, memory, steady, ends


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _malloc_in_use():
    """A function giving the bytes malloc has handed out and not had back (glibc's mallinfo2, every
    arena: Python's, NumPy's and Mesa's allocations alike), or None off glibc (or before 2.33)."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except AttributeError:
        return None
    mallinfo2.restype = _MallInfo2

    def in_use() -> int:
        info = mallinfo2()
        return info.uordblks + info.hblkhd

    return in_use


def _worker_rss(config, n, seed) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """In a fresh process: a generate worker's FrameTask over frames 0..n-1 (written to a temporary
    folder); (n + 1,) int64 resident bytes after set-up and after every frame, the same of malloc's
    bytes in use (None off glibc), and of the meshes in the renderer's pool."""
    split, fractions = config.split.use, config.split.fractions
    categories = list(build_catalog(config.objects.assets, MeshLibrary(), split=split, fractions=fractions).categories)
    rss = np.zeros(n + 1, dtype=np.int64)  # allocated up front: the record must not grow either
    in_use = _malloc_in_use()
    heap = None if in_use is None else np.zeros(n + 1, dtype=np.int64)
    pooled = np.zeros(n + 1, dtype=np.int64)
    tune_worker_process(llvmpipe_threads(1))  # as a generate worker does
    with tempfile.TemporaryDirectory() as tmp:
        task = FrameTask(config, seed, Path(tmp), categories)
        with render_threads(llvmpipe_threads(1)):
            task.setup()
        rss[0] = resident_bytes()
        if heap is not None:
            heap[0] = in_use()
        try:
            for index in range(n):
                outcome = task(index)
                if not outcome.ok:
                    raise RuntimeError(f"frame {index} failed: {outcome.error}")
                rss[index + 1] = outcome.rss_bytes
                if heap is not None:
                    heap[index + 1] = in_use()
                pooled[index + 1] = sum(len(nodes) for nodes in task._frames._renderer._pool.values())
        finally:
            task.close()
    return rss, heap, pooled


def rss_slope_kb_per_frame(rss: np.ndarray, warmup: int) -> float:
    """Least-squares slope of (frames,) resident bytes against frame number, over the frames after
    ``warmup``, in KB (1024 bytes) per frame."""
    frames = np.arange(warmup, len(rss), dtype=np.float64)
    return float(np.polyfit(frames, rss[warmup:].astype(np.float64), 1)[0] / 1024)


def memory_growth(config, n, seed, warmup) -> None:
    """Prints one worker's resident memory over n frames and its growth per frame after warm-up."""
    ctx = multiprocessing.get_context("spawn")  # a fresh process, like a generate worker
    with ctx.Pool(1) as pool:
        start = time.perf_counter()
        rss, heap, pooled = pool.apply(_worker_rss, (config, n, seed))
        seconds = time.perf_counter() - start
    per_frame = rss[1:]
    slope = rss_slope_kb_per_frame(per_frame, warmup)
    half = warmup + (n - warmup) // 2
    mb = 2**20
    print(f"memory: {n} frames in {seconds:.0f} s; RSS {rss[0] / mb:.1f} MB after set-up -> "
          f"{per_frame[warmup - 1] / mb:.1f} MB after {warmup} warm-up frames -> {per_frame[-1] / mb:.1f} MB "
          f"after the last (max {per_frame.max() / mb:.1f} MB)")
    print(f"  RSS slope after warm-up: {slope:+.3f} KB/frame over frames {warmup}..{n - 1} "
          f"(second half alone: {rss_slope_kb_per_frame(per_frame, half):+.3f} KB/frame); "
          f"target < {MEMORY_TARGET_KB_PER_FRAME} KB/frame: {'met' if slope < MEMORY_TARGET_KB_PER_FRAME else 'MISSED'}")
    if heap is not None:
        # RSS also holds freed memory malloc keeps (its high-water mark, fragmentation); bytes in
        # use that keep growing are a leak.
        in_use = heap[1:]
        print(f"  malloc bytes in use: {heap[0] / mb:.1f} MB after set-up -> {in_use[warmup - 1] / mb:.1f} MB -> "
              f"{in_use[-1] / mb:.1f} MB; slope after warm-up {rss_slope_kb_per_frame(in_use, warmup):+.3f} KB/frame "
              f"(second half alone: {rss_slope_kb_per_frame(in_use, half):+.3f} KB/frame)")
    # The renderer keeps one mesh per asset and simultaneous instance (hidden when unused): the
    # pool grows each time a frame first holds more copies of an asset than any frame before,
    # which can happen thousands of frames in. Growth after the last such frame is a leak.
    grew = np.nonzero(np.diff(pooled[1:]))[0]
    last = int(grew[-1]) + 1 if grew.size else 0
    print(f"  renderer pool: {pooled[-1]} meshes, {len(grew[grew + 1 >= warmup])} added after warm-up, the last "
          f"at frame {last}")
    if last < n - 100:
        after = f"RSS {rss_slope_kb_per_frame(per_frame, last):+.3f} KB/frame"
        if heap is not None:
            after += f", malloc bytes in use {rss_slope_kb_per_frame(heap[1:], last):+.3f} KB/frame"
        print(f"  after the pool's last mesh (frames {last}..{n - 1}): {after}")


def _size_overrides(size: str | None) -> list[str]:
    if size is None:
        return []
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--size must be WIDTHxHEIGHT, e.g. 160x120, got {size!r}") from None
    return [f"image.width={width}", f"image.height={height}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--num-frames", type=int, default=None, help="frames (default 500; 60 with --stages)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ray", action="store_true", help="also run end-to-end on local Ray actors")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--size", metavar="WxH", help="image size, e.g. 160x120 (default: the config's)")
    parser.add_argument("--memory-frames", type=int, metavar="N",
                        help="measure only one worker's RSS slope over N frames (use >= 10000)")
    parser.add_argument("--memory-warmup", type=int, metavar="N",
                        help="frames left out of the slope fit (default: N / 10, at least 100)")
    parser.add_argument("--stages", action="store_true",
                        help="measure only CPU time per stage and frame (GL wait apart) at 640x480 and 1920x1080, "
                             "or at --size; -n frames (default here 60; a quarter of that at 1080p)")
    parser.add_argument("--compare", metavar="REV", help="with --stages: also measure git revision REV (before/after)")
    parser.add_argument("--warmup", type=int, default=5, help="with --stages: frames left out first")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --stages: repeat each measurement and report medians (with --compare the "
                        "revisions alternate, their order swapped every round)")
    parser.add_argument("--frame-medians", action="store_true",
                        help="with --stages: each stage's CPU time is its median frame's, not the mean (robust "
                        "to frames another process delayed; a noisy machine's before/after reads clearer)")
    args = parser.parse_args()
    if args.num_frames is None:  # decided after parsing: -n, --num-frames N and --num-frames=N all count as given
        args.num_frames = 60 if args.stages else 500
    if args.stages:
        import cpu_stages

        sizes = [tuple(int(v) for v in args.size.lower().split("x"))] if args.size else [(640, 480), (1920, 1080)]
        cpu_stages.main(sizes, args.num_frames, args.warmup, args.compare, args.rounds, args.frame_medians)
        return
    config = load_config(None, [*_size_overrides(args.size), *args.overrides])
    # --workers 1 renders in this process: give it a worker's settings, as the CLI does (pool
    # workers and the memory run's process set their own).
    tune_worker_process(llvmpipe_threads(1))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
          f"PYOPENGL_PLATFORM={os.environ.get('PYOPENGL_PLATFORM', 'egl (vizsynth default)')}")
    if args.memory_frames is not None:
        n = args.memory_frames
        warmup = args.memory_warmup if args.memory_warmup is not None else max(100, n // 10)
        if not 0 < warmup < n - 1:
            raise SystemExit(f"--memory-warmup must be in [1, {n - 2}] for {n} frames, got {warmup}")
        print(f"config: built-in default {config.image.width}x{config.image.height}, seed {args.seed}, "
              f"{n} frames in one worker, {warmup} warm-up frames")
        memory_growth(config, n, args.seed, warmup)
        return
    print(f"config: built-in default {config.image.width}x{config.image.height}, {config.output.image_format}, "
          f"{args.num_frames} frames, seed {args.seed}")
    base = None
    for workers in args.workers:
        a = render_only(config, args.num_frames, args.seed, workers)
        b, summary, memory, steady, (head, tail) = end_to_end(config, args.num_frames, args.seed, workers)
        base = base or b
        stages = summary.stage_seconds
        per_frame = {k: 1000 * v / args.num_frames for k, v in stages.items()}
        print(f"\nworkers={workers}")
        print(f"  (a) render-only : {a:7.1f} frames/s")
        print(f"  (b) end-to-end  : {b:7.1f} frames/s   (b)/(a) = {b / a:.2f}   scaling vs first = {b / base:.2f}x")
        print(f"      steady state: {steady:7.1f} frames/s   (without worker start-up and the final merge)")
        print(f"      start-up to the first frame {head:.2f} s; after the last frame {tail:.2f} s (workers stopping, the rest of the merge, the manifest)")
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
            r, *_ = end_to_end(config, args.num_frames, args.seed, workers, RayExecutor())
            ray.shutdown()
            print(f"  (c) end-to-end on Ray actors: {r:7.1f} frames/s   Ray / local pool = {r / b:.2f}")


if __name__ == "__main__":
    main()
