"""Does a GPU give a frame the same pixels whatever the worker rendered before it?

    python benchmarks/gpu_repeatability.py [--frames 1081 0 1 2 ...] [--sleep 3]

Renders the frames once in a fresh process (the first draws of a new GL context), again right
after, and again after a pause; prints, for each frame and later round, how many pixels of the
depth (float32, compared bit for bit), instance ids and RGB differ from the first round, the
largest depth difference, and how many depth pixels change their unit in the PNG
(``maps.encode_depth``). On llvmpipe every count is 0; a GPU driver that compiles shaders
in the background or per GL state may give early frames other float bits. (Frame 1081, the
default's first, is the one whose depth PNG differed between two runs on an H100 box: the same
pixels there, other PNG bytes; see vizsynth/io/png.py.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from vizsynth.assets.catalog import build_catalog
from vizsynth.assets.meshes import MeshLibrary
from vizsynth.config import load_config
from vizsynth.maps import encode_depth
from vizsynth.pipeline import FrameRenderer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[1081, *range(12)])
    parser.add_argument("--sleep", type=float, default=3.0, help="pause before the last round (s)")
    args = parser.parse_args()
    config = load_config(None, [])
    categories = list(build_catalog(config.objects.assets, MeshLibrary(), split=config.split.use,
                                    fractions=config.split.fractions).categories)
    rounds = []
    with FrameRenderer(config, 0, categories) as renderer:
        for pause in (0.0, 0.0, args.sleep):
            time.sleep(pause)
            rounds.append({i: renderer.frame(i) for i in args.frames})
    scale = config.output.depth_scale_m
    differing = 0
    for later, frames in enumerate(rounds[1:], start=2):
        for i in args.frames:
            a, b = rounds[0][i], frames[i]
            depth = a.depth_m.view(np.uint32) != b.depth_m.view(np.uint32)
            units = encode_depth(a.depth_m, scale) != encode_depth(b.depth_m, scale)
            ids = int((a.instance_ids != b.instance_ids).sum())
            rgb = int((a.rgb != b.rgb).any(axis=2).sum())
            worst = float(np.abs(a.depth_m - b.depth_m).max())
            differing += int(depth.any() or ids or rgb)
            print(f"round {later} frame {i}: depth {int(depth.sum())} px (max {worst * 1e6:.2f} um, "
                  f"{int(units.sum())} px change their depth unit), ids {ids} px, rgb {rgb} px")
    print(f"frames with any difference from round 1: {differing} of {len(args.frames) * (len(rounds) - 1)}")


if __name__ == "__main__":
    main()
