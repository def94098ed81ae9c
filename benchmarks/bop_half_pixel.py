"""vizsynth's BOP masks against the BOP toolkit's own renderer: the half-pixel difference, measured.

    PYTHONPATH=$PWD:/path/to/bop_toolkit[:/path/to/vispy] EGL_PLATFORM=surfaceless \\
        python benchmarks/bop_half_pixel.py [--out DIR]

Generates 6 frames of 640x480 (seed 7; 4 to 8 primitives of 0.25 m at 1.5 m; formats coco and
bop), then recomputes every object's masks the way the toolkit's ``scripts/calc_gt_info.py`` does
(its vispy renderer, depth mode, on a 3x canvas), once with ``cam_K`` as written and once with
``cx + 0.5, cy + 0.5``, and prints per case:
  - full masks (``mask/``): pixels differing from vizsynth's, mean and max, and how many are identical;
  - visible masks (``mask_visib/``): the same against the toolkit's
    ``visibility.estimate_visib_mask_gt`` (``bop19``) at delta = 15 mm (calc_gt_info's) and 1 mm,
    and how many of vizsynth's visible pixels the toolkit's masks lack (0: theirs is a superset).
These are the numbers of the README's "BOP and the BOP toolkit". The toolkit is not on PyPI: clone
github.com/thodan/bop_toolkit and install pypng and vispy (the ``bop`` extra). The measurement
runs in a subprocess, so that the toolkit's EGL context is not the one vizsynth rendered with.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CONFIG = {
    "image": {"width": 640, "height": 480},
    "objects": {"count": {"uniform": [4, 8]}, "primitive_size_m": 0.25},
    "camera": {"distance_m": 1.5},
    "output": {"formats": ["coco", "bop"]},
}
NUM_FRAMES, SEED = 6, 7
SHIFTS_PX = (0.0, 0.5)
DELTAS_MM = (15.0, 1.0)


def measure(root: Path) -> dict:
    """Per shift: pixels by which the toolkit's full masks and (per delta) visible masks differ
    from the ones vizsynth wrote under ``root`` (a BOP folder), one count per object."""
    from bop_toolkit_lib import inout, misc, visibility
    from bop_toolkit_lib.rendering import renderer

    cam = inout.load_cam_params(root / "camera.json")
    w, h = cam["im_size"]
    ren = renderer.create_renderer(3 * w, 3 * h, "vispy", mode="depth")
    info = inout.load_json(root / "models" / "models_info.json", keys_to_int=True)
    for obj_id in info:
        ren.add_object(obj_id, str(root / "models" / f"obj_{obj_id:06d}.ply"))
    full = {s: [] for s in SHIFTS_PX}
    visible = {(s, d): [] for s in SHIFTS_PX for d in DELTAS_MM}
    missing = {(s, d): [] for s in SHIFTS_PX for d in DELTAS_MM}  # vizsynth's visible pixels the toolkit's lacks
    for scene in sorted((root / "train_pbr").iterdir()):
        cameras = inout.load_scene_camera(scene / "scene_camera.json")
        gts = inout.load_scene_gt(scene / "scene_gt.json")
        for im_id, entries in gts.items():
            K = cameras[im_id]["cam_K"]
            depth = inout.load_depth(scene / "depth" / f"{im_id:06d}.png") * cameras[im_id]["depth_scale"]
            dist_im = misc.depth_im_to_dist_im_fast(depth, K)
            for gt_id, gt in enumerate(entries):
                ours = inout.load_im(scene / "mask" / f"{im_id:06d}_{gt_id:06d}.png") > 0
                ours_visible = inout.load_im(scene / "mask_visib" / f"{im_id:06d}_{gt_id:06d}.png") > 0
                for shift in SHIFTS_PX:
                    # calc_gt_info renders on a 3x canvas with the principal point moved to its middle.
                    rendered = ren.render_object(gt["obj_id"], gt["cam_R_m2c"], gt["cam_t_m2c"], K[0, 0], K[1, 1],
                                                 K[0, 2] + shift + w, K[1, 2] + shift + h)["depth"]
                    depth_gt = rendered[h:2 * h, w:2 * w]
                    full[shift].append(int(((depth_gt > 0) != ours).sum()))
                    dist_gt = misc.depth_im_to_dist_im_fast(depth_gt, K)
                    for delta in DELTAS_MM:
                        theirs = visibility.estimate_visib_mask_gt(dist_im, dist_gt, delta, visib_mode="bop19")
                        visible[(shift, delta)].append(int((theirs != ours_visible).sum()))
                        missing[(shift, delta)].append(int((ours_visible & ~theirs).sum()))
    return {"full": {str(s): v for s, v in full.items()},
            "visible": {f"{s} {d}": v for (s, d), v in visible.items()},
            "missing": {f"{s} {d}": v for (s, d), v in missing.items()}}


def _line(diffs: list[int]) -> str:
    a = np.array(diffs)
    return f"mean {a.mean():.0f} px, max {a.max()} px, {(a == 0).sum()} of {len(a)} identical"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="dataset folder to write (default: a temporary one)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the subprocess's part
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return
    import vizsynth

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "data"
        if not vizsynth.generate(CONFIG, out, num_frames=NUM_FRAMES, seed=SEED, progress=False).ok:
            raise SystemExit(f"generating {out} failed")
        done = subprocess.run([sys.executable, __file__, "--measure", str(out / "bop")],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the toolkit's measurement failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{NUM_FRAMES} frames, 640x480, seed {SEED}: {len(result['full']['0.0'])} objects; "
          "the BOP toolkit's vispy renderer (calc_gt_info's 3x canvas) against vizsynth's masks")
    for shift in SHIFTS_PX:
        principal = "cam_K as written" if shift == 0 else f"cx + {shift}, cy + {shift}"
        print(f"{principal}:")
        print(f"  mask/        {_line(result['full'][str(shift)])}")
        for delta in DELTAS_MM:
            key = f"{shift} {delta}"
            print(f"  mask_visib/  delta {delta:g} mm: {_line(result['visible'][key])}; "
                  f"{sum(result['missing'][key])} px of vizsynth's visible masks not in the toolkit's")


if __name__ == "__main__":
    main()
