"""The ``vizsynth`` command line. Errors meant for people print one message and exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vizsynth.errors import VizsynthError

EPILOG = """
examples:
  vizsynth generate --out data -n 1000                     built-in default config
  vizsynth generate configs/default.yaml --out data -n 1000 --workers 2 --set image.width=320
  vizsynth generate configs/default.yaml --out data -n 1000 --resume     finish an interrupted job
  vizsynth render-scene scene.json data/frames/00000/00000007.json --out replayed
  vizsynth preview data --to preview.jpg                    labels drawn on frames 0-5
  vizsynth validate data                                    strict checks, exit 0 only when clean
  vizsynth show-config > my.yaml                            the default config, every field
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vizsynth",
        description="Procedural synthetic datasets (RGB, depth, instance masks, COCO) with labels exact to the pixel.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from vizsynth.version import __version__

    parser.add_argument("--version", action="version", version=f"vizsynth {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate", help="render a dataset folder from a config",
        description="Render frames 0..N-1 of a config into OUT (images/, depth/, instances/, frames/, "
        "annotations.json, config.yaml, manifest.json). Frame i depends only on (config, seed, i): "
        "any worker count or a resumed job gives byte-identical frames.",
    )
    gen.add_argument("config", nargs="?", help="YAML config (default: the built-in default, see configs/default.yaml)")
    gen.add_argument("--out", required=True, type=Path, help="output folder (must be empty or absent)")
    gen.add_argument("-n", "--num-frames", type=int, default=100, help="number of frames (default 100)")
    gen.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    gen.add_argument("--workers", type=int, default=1, help="worker processes, one GL context each (default 1)")
    gen.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config field, value as YAML, e.g. --set camera.yfov_deg='{uniform: [30, 50]}'")
    gen.add_argument("--resume", action="store_true", help="finish an interrupted job in OUT (same config, seed, -n)")
    gen.add_argument("--overwrite", action="store_true", help="delete an existing vizsynth dataset in OUT first")
    gen.add_argument("--no-progress", action="store_true", help="no progress bar")
    gen.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local process pool (default) or Ray actors (pip install 'vizsynth[ray]')")
    gen.add_argument("--ray-address", default=None, metavar="ADDR",
                     help="Ray cluster to join (e.g. auto, ray://head:10001); default: start a local Ray")
    gen.add_argument("--ray-gpus-per-worker", type=float, default=0.0, metavar="G",
                     help="GPUs each Ray worker reserves; fractions share a GPU (default 0)")

    scene = sub.add_parser(
        "render-scene", help="render given scenes (JSON) into a dataset folder",
        description="Render each scene file as one frame, in the order given. A scene file holds "
        '{"camera": {"K": 3x3, "width": W, "height": H, "world_to_cam": 4x4 (optional)}, "objects": '
        '[{"mesh": path, "mesh_scale": number, "category": name, "obj_to_world": 4x4}]}; a frame record '
        "(OUT/frames/.../*.json) is a scene file too, so this also replays generated frames exactly.",
    )
    scene.add_argument("scenes", nargs="+", type=Path, help="scene JSON files")
    scene.add_argument("--out", required=True, type=Path, help="output folder (must be empty or absent)")
    scene.add_argument("--overwrite", action="store_true", help="delete an existing vizsynth dataset in OUT first")
    scene.add_argument("--image-format", choices=("png", "jpg"), default="png", help="rgb format (default png)")

    preview = sub.add_parser("preview", help="draw a dataset's labels on its frames into one image",
                             description="Decode each frame's record (RLE masks, boxes, categories) and draw "
                             "them on its image: a quick visual check of a dataset.")
    preview.add_argument("dataset", type=Path, help="a dataset folder made by generate or render-scene")
    preview.add_argument("--to", required=True, type=Path, help="image to write (.jpg or .png)")
    preview.add_argument("--frames", type=int, nargs="+", default=list(range(6)), help="frame indices (default 0-5)")
    preview.add_argument("--columns", type=int, default=3, help="frames per row (default 3)")
    preview.add_argument("--scale", type=float, default=0.5, help="resize factor per frame (default 0.5)")

    check = sub.add_parser("validate", help="check a dataset folder or COCO file strictly",
                           description="Check ids, categories, boxes against masks, areas, RLE sizes, image files "
                           "and sizes; for vizsynth folders also the manifest, frame records, instance and depth "
                           "maps. Lists problems grouped by kind; exit 0 only when clean.")
    check.add_argument("path", type=Path, help="a dataset folder, or a COCO JSON file")
    check.add_argument("--images", type=Path, default=None,
                       help="image root for a COCO file (default: the folder's images/, or the file's folder)")

    show = sub.add_parser("show-config", help="print the fully resolved config as YAML")
    show.add_argument("config", nargs="?", help="YAML config (default: the built-in default)")
    show.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return parser


def _generate(args: argparse.Namespace) -> int:
    from vizsynth.config import load_config
    from vizsynth.run.job import generate
    from vizsynth.run.local import run_frames

    config = load_config(args.config, args.overrides)
    executor = run_frames
    if args.executor == "ray":
        from vizsynth.run.ray_executor import RayExecutor

        executor = RayExecutor(args.ray_address, gpus_per_worker=args.ray_gpus_per_worker)
    summary = generate(
        config, args.out, args.num_frames, seed=args.seed, workers=args.workers,
        resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress, executor=executor,
    )
    kept = summary.completed - summary.rendered
    rate = summary.rendered / summary.seconds if summary.seconds > 0 else 0.0
    print(
        f"{summary.out_dir}: {summary.completed}/{summary.num_frames} frames"
        f"{f' ({kept} kept from before)' if kept else ''}, {summary.num_annotations} objects annotated, "
        f"{summary.seconds:.1f} s ({rate:.1f} frames/s), {len(summary.failed)} failed"
    )
    for index, error in sorted(summary.failed.items()):
        print(f"frame {index} failed: {error.splitlines()[0]}", file=sys.stderr)
    if summary.failed:
        print(f"failed frames are listed in {summary.out_dir / 'manifest.json'}; rerun with --resume to retry them",
              file=sys.stderr)
    return 0 if summary.ok else 1


def _render_scene(args: argparse.Namespace) -> int:
    from vizsynth.config import OutputConfig
    from vizsynth.run.scenes import render_scenes

    n = render_scenes(args.scenes, args.out, output=OutputConfig(image_format=args.image_format),
                      overwrite=args.overwrite)
    print(f"{args.out}: {len(args.scenes)} frames, {n} objects annotated")
    return 0


def _preview(args: argparse.Namespace) -> int:
    import cv2

    from vizsynth.io.preview import preview_grid

    grid = preview_grid(args.dataset, args.frames, args.columns, args.scale)
    args.to.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.to), grid):
        raise VizsynthError(f"cannot write {args.to}: use a .jpg or .png name in a writable folder")
    print(f"{args.to}: {len(args.frames)} frames")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from vizsynth.validate import validate_dataset

    report = validate_dataset(args.path, args.images)
    print(report.format())
    return 0 if report.ok else 1


def _show_config(args: argparse.Namespace) -> int:
    from vizsynth.config import load_config

    print(load_config(args.config, args.overrides).to_yaml(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; returns the exit code (0 ok, 1 some frames failed, 2 bad input, 130 interrupted)."""
    args = _parser().parse_args(argv)
    handlers = {"generate": _generate, "render-scene": _render_scene, "preview": _preview,
                "validate": _validate, "show-config": _show_config}
    try:
        return handlers[args.command](args)
    except VizsynthError as exc:
        print(f"vizsynth: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vizsynth: interrupted; finish the job with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
