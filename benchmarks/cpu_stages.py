"""CPU time per frame and stage, with the wait for the rasteriser apart: what a GPU machine would still pay.

    python benchmarks/throughput.py --stages                    # 640x480 and 1920x1080
    python benchmarks/throughput.py --stages --compare HEAD~3   # before (REV) / after table
    python benchmarks/throughput.py --stages --compare HEAD~3 --rounds 5   # medians, revisions alternated
    python benchmarks/throughput.py --stages --compare HEAD~3 --rounds 5 --frame-medians   # median frames

On llvmpipe the rasteriser runs on the CPU, so wall time says little about a GPU machine, and
on a shared machine wall time is noisy anyway. This measures, in one fresh worker process doing
a generate worker's per-frame work (FrameTask: sample, render, annotate, write), the CPU time
of each stage:

  sample      sampling the scene (thread CPU time)
  draw        staging, pyrender's Python draw loop, silhouette packing: render's own thread CPU
              time, less the two below
  read-back   glReadPixels and the NumPy work on what it returns (thread CPU time)
  annotate    boxes, RLE, amodal, keypoints, maps (thread CPU time)
  finish      background composite and image effects (thread CPU time)
  write       encode and write files and the record, one after another in the worker's thread as
              when every core of the machine has a worker (no writer threads: they add hand-over
              CPU time and gain nothing there). Two parts of it are shown apart: the record (its
              dict and JSON text) and the file system's work (creating, writing and renaming the
              files: kernel time, which depends on the file system more than on vizsynth); the
              rest is encoding the images (JPEG, PNGs).
  GL wait     wall time of a glFinish before every read-back (and before the multisample resolve):
              the rasteriser working. Not counted as CPU work; on a GPU it is much shorter.

On llvmpipe "draw" also holds Mesa's vertex processing and binning, which run in the calling
thread (on a GPU they do not). So each measurement is made twice: the second run sets
GALLIUM_NOOP=1, Mesa's no-op wrapper (every GL call is accepted, nothing is drawn), and gives draw
and read-back without any rasterising work. "CPU work without rasterising" is the real run's
sample, annotate, finish and write (with nothing drawn there would be nothing to annotate or
encode) plus the no-op run's draw and read-back: the CPU a GPU machine's worker still pays. Mesa
names the no-op driver "NOOP", not llvmpipe, so the renderer flips its read-backs with GL blits
there, as it does on a GPU (on llvmpipe it flips them on the CPU: see _Renderer._read_pass).

The stages are thread CPU time: work a library hands to its own threads (OpenCV splits flips and
colour conversions over its thread pool unless a worker pins it to one thread) is not in them.
"process CPU, all threads, Mesa drawing nothing" is the no-op run's whole-process CPU per frame:
every thread's work, nothing rasterised (its images are blank or noise, so its annotate and write
differ from a real frame's), the fair total across revisions that use threads differently.

and the minor page faults per frame (resource.getrusage), a sign of fresh frame-sized
allocations. The timers are wrappers installed from outside (no hooks in vizsynth), so the same
measurement runs on an older revision (--compare).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Executor, Future
from pathlib import Path

STAGES = ("sample", "draw", "read-back", "annotate", "finish", "write")
# Parts of "write" timed apart (inside it): what is left of "write" is encoding the images.
WRITE_PARTS = ("write: record", "write: files")
REPO = Path(__file__).resolve().parents[1]


class _Clock:
    """Exclusive CPU time per bucket: a region's time less the regions timed inside it."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.faults: dict[str, int] = {}
        self._stack: list[list[float]] = []

    @contextlib.contextmanager
    def region(self, bucket: str, process: bool = False):
        cpu_now = time.process_time if process else time.thread_time
        frame = [0.0, 0.0, 0.0]  # children's cpu, wall, faults
        self._stack.append(frame)
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        c0, w0 = cpu_now(), time.perf_counter()
        try:
            yield
        finally:
            cpu, wall = cpu_now() - c0, time.perf_counter() - w0
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            self._stack.pop()
            self.cpu[bucket] = self.cpu.get(bucket, 0.0) + cpu - frame[0]
            self.wall[bucket] = self.wall.get(bucket, 0.0) + wall - frame[1]
            self.faults[bucket] = self.faults.get(bucket, 0) + faults - frame[2]
            if self._stack:
                parent = self._stack[-1]
                parent[0] += cpu
                parent[1] += wall
                parent[2] += faults

    def reset(self) -> None:
        self.cpu.clear()
        self.wall.clear()
        self.faults.clear()


def _wrap(owner, name: str, clock: _Clock, bucket: str, process: bool = False) -> None:
    original = getattr(owner, name)

    def timed(*args, **kwargs):
        with clock.region(bucket, process):
            return original(*args, **kwargs)

    setattr(owner, name, timed)


class _Inline(Executor):
    """Runs each submitted job at once in the calling thread (write_frame's serial path, in any
    revision: older ones have no setting for it)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, as a pool would
            future.set_exception(exc)
        return future


class _TimedGL:
    """The GL module with a timed glFinish before every glReadPixels (the rasteriser's work)."""

    def __init__(self, gl, clock: _Clock) -> None:
        self._gl, self._clock = gl, clock

    def __getattr__(self, name):
        return getattr(self._gl, name)

    def glReadPixels(self, *args, **kwargs):
        with self._clock.region("GL wait"):
            self._gl.glFinish()
        with self._clock.region("read-back"):
            return self._gl.glReadPixels(*args, **kwargs)

    def glBlitFramebuffer(self, *args, **kwargs):
        # The multisample resolve before the colour read-back waits for the colour pass.
        with self._clock.region("GL wait"):
            self._gl.glFinish()
        return self._gl.glBlitFramebuffer(*args, **kwargs)


def _install(clock: _Clock) -> None:
    import vizsynth.pipeline as pipeline
    import vizsynth.render.context as context
    import vizsynth.run.task as task

    context.GL = _TimedGL(context.GL, clock)
    _wrap(context._Renderer, "_read_main_framebuffer", clock, "read-back")
    _wrap(pipeline.FrameRenderer, "scene", clock, "sample")
    _wrap(pipeline.FrameRenderer, "render", clock, "draw")
    _wrap(pipeline, "annotate_frame", clock, "annotate")
    for name in ("background_image", "composite", "apply_effects"):
        _wrap(pipeline, name, clock, "finish")
    _wrap(task, "write_frame", clock, "write", process=True)
    import vizsynth.io.files as files
    import vizsynth.io.frame_writer as frame_writer

    # The record (its dict and JSON text) and the file system's work (create, write, rename),
    # each timed inside "write"; the images are encoded before write_bytes_atomic is called.
    for name in ("annotation_records", "record_to_dict", "write_json_atomic"):
        if hasattr(frame_writer, name):
            _wrap(frame_writer, name, clock, "write: record", process=True)
    for owner in (files, frame_writer):
        _wrap(owner, "write_bytes_atomic", clock, "write: files", process=True)


def measure(width: int, height: int, frames: int, warmup: int, seed: int = 0) -> dict:
    """In this process: per-frame CPU ms per stage (the mean, and the median frame's in
    ``cpu_median_ms``), GL wait ms and minor faults, over ``frames`` frames after ``warmup``
    (default config at ``width`` x ``height``, one worker)."""
    from vizsynth.assets.catalog import build_catalog
    from vizsynth.assets.meshes import MeshLibrary
    from vizsynth.config import load_config
    from vizsynth.run.local import llvmpipe_threads, render_threads
    from vizsynth.run.task import FrameTask

    try:  # a pool worker's process settings, with one core to itself as at full load (revisions since 0.2.0)
        from vizsynth.run.worker_process import tune_worker_process
        tune_worker_process(1)
    except ImportError:
        pass
    config = load_config(None, [f"image.width={width}", f"image.height={height}"])
    split, fractions = config.split.use, config.split.fractions
    categories = list(build_catalog(config.objects.assets, MeshLibrary(), split=split, fractions=fractions).categories)
    clock = _Clock()
    _install(clock)
    with tempfile.TemporaryDirectory() as tmp:
        task = FrameTask(config, seed, Path(tmp), categories)
        with render_threads(llvmpipe_threads(1)):
            task.setup()
        if task._writers is not None:
            task._writers.shutdown()
        task._writers = _Inline()
        try:
            per_frame = {k: [] for k in STAGES + WRITE_PARTS}
            for index in range(warmup + frames):
                if index == warmup:
                    clock.reset()
                    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                    w0 = time.perf_counter()
                    p0 = time.process_time()
                before = dict(clock.cpu)
                outcome = task(index)
                if not outcome.ok:
                    raise RuntimeError(f"frame {index} failed: {outcome.error}")
                if index >= warmup:
                    for k in STAGES + WRITE_PARTS:
                        per_frame[k].append(clock.cpu.get(k, 0.0) - before.get(k, 0.0))
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            wall, process = time.perf_counter() - w0, time.process_time() - p0
        finally:
            task.close()
    ms = {k: 1000 * clock.cpu.get(k, 0.0) / frames for k in STAGES + WRITE_PARTS}
    # "write" as a whole again: the image encoding left in it plus the parts timed apart.
    for k in WRITE_PARTS:
        ms["write"] += ms[k]
        per_frame["write"] = [w + p for w, p in zip(per_frame["write"], per_frame[k])]
    return {
        "size": f"{width}x{height}", "frames": frames, "cpu_ms": ms,
        "cpu_median_ms": {k: 1000 * statistics.median(v) for k, v in per_frame.items()},
        "cpu_total_ms": sum(ms[k] for k in STAGES),
        "gl_wait_ms": 1000 * clock.wall.get("GL wait", 0.0) / frames,
        "write_wall_ms": 1000 * sum(clock.wall.get(k, 0.0) for k in ("write", *WRITE_PARTS)) / frames,
        "faults": {k: sum(clock.faults.get(part, 0) for part in ((k, *WRITE_PARTS) if k == "write" else (k,))) / frames
                   for k in (*STAGES, "GL wait")},
        "faults_per_frame": faults / frames,
        "wall_ms": 1000 * wall / frames, "process_cpu_ms": 1000 * process / frames,
    }


def child_env(source: Path) -> dict[str, str]:
    """The environment for a child Python importing vizsynth from ``source``: ``source`` first on
    PYTHONPATH, then the caller's PYTHONPATH (where the dependencies may come from)."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")])))


def measure_in_process(source: Path, width: int, height: int, frames: int, warmup: int, noop: bool = False) -> dict:
    """``measure`` in a fresh Python process importing vizsynth from ``source`` (its own GL
    context and llvmpipe threads); ``noop``: with Mesa's no-op driver (GALLIUM_NOOP=1)."""
    env = child_env(source)
    if noop:
        env["GALLIUM_NOOP"] = "1"
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import cpu_stages; "
            f"print(json.dumps(cpu_stages.measure({width}, {height}, {frames}, {warmup})))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=source, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_both(source: Path, width: int, height: int, frames: int, warmup: int, frame_medians: bool = False) -> dict:
    """The real run's result, with the no-op run's draw and read-back and the CPU work without
    rasterising; ``frame_medians``: each stage's median frame instead of its mean."""
    result = measure_in_process(source, width, height, frames, warmup)
    noop_run = measure_in_process(source, width, height, frames, warmup, noop=True)
    if frame_medians:
        for run in (result, noop_run):
            run["cpu_ms"] = run["cpu_median_ms"]
            run["cpu_total_ms"] = sum(run["cpu_ms"][k] for k in STAGES)
    noop = noop_run["cpu_ms"]
    result["noop_ms"] = {k: noop[k] for k in ("draw", "read-back")}
    result["noop_process_ms"] = noop_run["process_cpu_ms"]
    result["no_raster_ms"] = result["cpu_total_ms"] - sum(result["cpu_ms"][k] - noop[k] for k in ("draw", "read-back"))
    return result


@contextlib.contextmanager
def exported(rev: str):
    """The code of git revision ``rev``, exported to a temporary folder for the block."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


def median_result(results: list[dict]) -> dict:
    """Each number of ``measure_both``'s results (nested ones too) as its median over ``results``."""
    first = results[0]
    out = {}
    for key, value in first.items():
        if isinstance(value, dict):
            out[key] = median_result([r[key] for r in results])
        elif isinstance(value, (int, float)):
            out[key] = statistics.median(r[key] for r in results)
        else:
            out[key] = value
    return out


def table(results: list[tuple[str, dict]]) -> str:
    """A markdown table: one column per (label, result)."""
    head = "| ms per frame | " + " | ".join(f"{label} {r['size']}" for label, r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for stage in STAGES:
        lines.append(f"| {stage} (CPU) | " + " | ".join(f"{r['cpu_ms'][stage]:.2f}" for _, r in results) + " |")
        if stage == "write":
            for part, words in zip(WRITE_PARTS, ("the record (its dict, JSON)", "files (create, write, rename)")):
                lines.append(f"| &nbsp;&nbsp;of which {words} | "
                             + " | ".join(f"{r['cpu_ms'].get(part, 0.0):.2f}" for _, r in results) + " |")
    lines.append("| **CPU work** | " + " | ".join(f"**{r['cpu_total_ms']:.1f}**" for _, r in results) + " |")
    for stage in ("draw", "read-back"):
        lines.append(f"| {stage}, Mesa drawing nothing (CPU) | "
                     + " | ".join(f"{r['noop_ms'][stage]:.2f}" for _, r in results) + " |")
    lines.append("| **CPU work without rasterising** | "
                 + " | ".join(f"**{r['no_raster_ms']:.1f}**" for _, r in results) + " |")
    lines.append("| process CPU, all threads, Mesa drawing nothing | "
                 + " | ".join(f"{r['noop_process_ms']:.1f}" for _, r in results) + " |")
    lines.append("| GL wait (wall) | " + " | ".join(f"{r['gl_wait_ms']:.1f}" for _, r in results) + " |")
    lines.append("| write (wall) | " + " | ".join(f"{r['write_wall_ms']:.1f}" for _, r in results) + " |")
    lines.append("| wall per frame | " + " | ".join(f"{r['wall_ms']:.1f}" for _, r in results) + " |")
    lines.append("| minor page faults / frame | " + " | ".join(f"{r['faults_per_frame']:.0f}" for _, r in results) + " |")
    return "\n".join(lines)


def main(sizes: list[tuple[int, int]], frames: int, warmup: int, compare: str | None, rounds: int = 1,
         frame_medians: bool = False) -> None:
    """Prints the table. With ``rounds`` > 1 every measurement is repeated and each cell is the
    median; with ``compare`` the two revisions alternate, their order swapped every round, so a
    machine that speeds up or slows down during the run favours neither. With ``frame_medians``
    each stage's CPU cell is its median frame's (a frame that another process delayed moves the
    mean, not the median); the wall, wait and process rows stay means."""
    print("CPU time per stage, one worker, default config (CPU time, not wall time: the machine's cores may be "
          "shared; GL wait is the wall time of a glFinish before each read-back and resolve, not counted as CPU work)"
          + ("; stage cells: the median frame's" if frame_medians else ""))
    results = []
    with (exported(compare) if compare else contextlib.nullcontext()) as before:
        sources = [(compare, before), ("this tree", REPO)] if compare else [("", REPO)]
        for width, height in sizes:
            n = frames if width * height <= 640 * 480 else max(10, frames // 4)
            runs = {label: [] for label, _ in sources}
            for round_ in range(rounds):
                for label, source in (sources if round_ % 2 == 0 else sources[::-1]):
                    runs[label].append(measure_both(source, width, height, n, warmup, frame_medians))
            results += [(label, median_result(runs[label])) for label, _ in sources]
            print(f"  {width}x{height}: {n} frames after {warmup} warm-up frames"
                  f"{f', median of {rounds} rounds' if rounds > 1 else ''}", flush=True)
    print(table(results))
    for label, r in results:
        faults = ", ".join(f"{k} {v:.0f}" for k, v in r["faults"].items())
        print(f"  faults/frame by stage ({label or 'this tree'} {r['size']}): {faults}")
