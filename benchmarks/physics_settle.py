"""Settle cost of placement "physics" against the render time of the same frames.

    python benchmarks/physics_settle.py                  # 10 frames of configs/bin_picking.yaml, 20 objects
    python benchmarks/physics_settle.py -n 20 --objects 30 --size 320 240

For frames 0..N-1 it times, in one process: sampling the scene (the drop and the simulation are
nearly all of it), then rendering and annotating that scene. It prints the medians per frame, the
simulation steps a drop took, and the steps per second, with the sum of convex-hull vertices, which
is what a step's cost grows with (Bullet's convex-convex contact tests).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import vizsynth.sampling.physics as physics
from vizsynth.config import load_config
from vizsynth.pipeline import FrameRenderer

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "bin_picking.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--num-frames", type=int, default=10)
    parser.add_argument("--objects", type=int, default=20, help="objects per frame (default 20)")
    parser.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"))
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args()
    config = load_config(args.config, [f"objects.count={args.objects}", f"image.width={args.size[0]}",
                                       f"image.height={args.size[1]}"])
    runs: list[tuple[int, int, float]] = []  # (steps, hull vertices, seconds) of each simulate call (rest probes too)
    simulate = physics.simulate

    def timed(bodies, drops, settings, **options):
        start = time.perf_counter()
        result = simulate(bodies, drops, settings, **options)
        runs.append((result[2], sum(len(b.hull) for b in bodies), time.perf_counter() - start))
        return result

    physics.simulate = timed  # counts steps; settle looks the function up at call time
    settle_s, render_s = [], []
    with FrameRenderer(config, seed=0) as frames:
        frames.render_scene(frames.scene(0), 0)  # warm-up: GL context, meshes uploaded
        for index in range(args.num_frames):
            start = time.perf_counter()
            scene = frames.scene(index)
            settle_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            frames.render_scene(scene, index)
            render_s.append(time.perf_counter() - start)
    steps = [r[0] for r in runs]
    print(f"{platform.processor() or platform.machine()}, {args.objects} objects, {args.size[0]}x{args.size[1]}, "
          f"{args.num_frames} frames of {args.config.name}")
    print(f"settle (sample_scene)   median {1000 * statistics.median(settle_s):8.1f} ms/frame")
    print(f"render + annotate       median {1000 * statistics.median(render_s):8.1f} ms/frame")
    print(f"simulations {len(runs)} (drops, rest probes, settles after a failed probe; {args.num_frames} frames), "
          f"steps per simulation median {statistics.median(steps):.0f}, max {max(steps)}")
    print(f"step cost median {1e3 * statistics.median(r[2] / r[0] for r in runs):.2f} ms for "
          f"{statistics.median(r[1] for r in runs):.0f} hull vertices in all")


if __name__ == "__main__":
    main()
