"""Cost of optical flow against the label pass, on the frames of configs/flow.yaml.

    python benchmarks/flow_cost.py                    # 24 frames (one sequence), 256 x 256
    python benchmarks/flow_cost.py -n 48 --size 640 480

The issue's budget: the flow pass costs no more than the label pass. For frames 0..N-1 it times,
in one process with one GL context (llvmpipe threads as a single generate worker gets them):

  label pass       ``Renderer.labels``: instance ids + depth, GL and read-back
  flow pass        ``Renderer.flow``: the other frame's camera-frame point per pixel, GL and read-back
  measure_flow     CPU: projection, validity, occlusion test (and scene flow when configured)
  one direction    flow pass + the neighbour's label pass (its depth, for occlusion) + measure_flow
  colour+labels    ``Renderer.render``: what a frame costs without flow, for scale

and prints the median milliseconds per call, and flow pass / label pass.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from vizsynth.annotate.flow import measure_flow
from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import load_config
from vizsynth.motion import scene_at
from vizsynth.render import Renderer
from vizsynth.run.local import llvmpipe_threads, render_threads
from vizsynth.sampling.motion_sampler import start_sequence
from vizsynth.sampling.scene_sampler import sample_scene

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "flow.yaml"
WARM_UP = 3  # frames rendered before timing: shader compilation and mesh uploads happen there


def _ms(samples: list[float]) -> float:
    return 1000.0 * statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--num-frames", type=int, default=24)
    parser.add_argument("--size", type=int, nargs=2, default=None, metavar=("W", "H"), help="default: the config's")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    overrides = [f"image.width={args.size[0]}", f"image.height={args.size[1]}"] if args.size else []
    config = load_config(args.config, overrides)
    sequence = config.sequence
    assets = load_config_assets(config)
    times: dict[str, list[float]] = {k: [] for k in ("labels", "flow", "measure", "direction", "render")}
    starts = {}
    with render_threads(llvmpipe_threads(1)), Renderer(assets.library, config.image.width, config.image.height,
                                                       config.render.antialias, config.render.shadows) as renderer:
        for index in range(-WARM_UP, args.num_frames):
            s, t = divmod(index % args.num_frames, sequence.frames_per_sequence)
            if s not in starts:
                scene = sample_scene(config, assets.catalog, seed=args.seed, index=s, distractors=assets.distractors,
                                     images=assets.images)
                starts[s] = start_sequence(sequence, scene, seed=args.seed, sequence=s)
            spec = scene_at(starts[s], t)
            other = scene_at(starts[s], t + 1)  # past the end too: the cost is the same
            t0 = time.perf_counter()
            result = renderer.render(spec)
            t1 = time.perf_counter()
            renderer.labels(spec)
            t2 = time.perf_counter()
            flow_pass = renderer.flow(spec, other)
            t3 = time.perf_counter()
            _, other_depth = renderer.labels(other)
            t4 = time.perf_counter()
            measure_flow(spec.camera, result.depth_m, result.instance_ids, flow_pass, other.camera, other_depth,
                         sequence.occlusion_tolerance_m, sequence.scene_flow)
            t5 = time.perf_counter()
            if index >= 0:
                for key, seconds in (("render", t1 - t0), ("labels", t2 - t1), ("flow", t3 - t2),
                                     ("measure", t5 - t4), ("direction", t5 - t2)):
                    times[key].append(seconds)
    labels, flow = _ms(times["labels"]), _ms(times["flow"])
    print(f"{args.config.name}, {config.image.width}x{config.image.height}, {args.num_frames} frames, "
          f"{platform.node()} ({platform.processor() or platform.machine()}); median ms per call:")
    print(f"  label pass      {labels:8.2f}")
    print(f"  flow pass       {flow:8.2f}   flow / label = {flow / labels:.2f} "
          f"({'within' if flow <= labels else 'OVER'} the budget: flow pass <= label pass)")
    print(f"  measure_flow    {_ms(times['measure']):8.2f}   (CPU)")
    print(f"  one direction   {_ms(times['direction']):8.2f}   (flow pass + neighbour's label pass + measure_flow)")
    print(f"  colour+labels   {_ms(times['render']):8.2f}   (a frame without flow; flow adds two directions)")


if __name__ == "__main__":
    main()
