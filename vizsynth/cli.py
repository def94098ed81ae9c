"""The ``vizsynth`` command line. Errors meant for people print one message and exit 2."""

from __future__ import annotations

import argparse
import codecs
import signal
import sys
from pathlib import Path

from vizsynth.errors import VizsynthError

EPILOG = """
examples:
  vizsynth generate --out data -n 1000                     built-in default config
  vizsynth generate configs/default.yaml --out data -n 1000 --workers 2 --set image.width=320
  vizsynth generate configs/default.yaml --out data -n 1000 --resume     finish an interrupted job
  vizsynth render-scene scene.json data/frames/00000/00000007.json --out replayed
  vizsynth replay data --frame 42                           re-render frame 42 from its record, compare
  vizsynth preview data -n 16 --out preview.png             labels drawn on the first 16 frames
  vizsynth preview-sequence data --sequence 0 --out seq.gif  image | flow colour | tracks of a sequence
  vizsynth validate data                                    strict checks, exit 0 only when clean
  vizsynth experiment configs/experiments/ycbv_dr.yaml --out exp   DR ablation: train, test on real frames
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
    gen.add_argument("--gpus", default=None, metavar="LIST",
                     help="EGL devices to spread the workers over, dealt in turn: 'all' or e.g. 0,1 (local "
                     "executor; default: $EGL_DEVICE_ID, else 0). EGL numbers GPUs in its own order, see README")
    gen.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config field, value as YAML, e.g. --set camera.yfov_deg='{uniform: [30, 50]}'")
    gen.add_argument("--resume", action="store_true", help="finish an interrupted job in OUT (same config, seed, -n)")
    gen.add_argument("--overwrite", action="store_true",
                     help="remove vizsynth's files of an existing vizsynth dataset in OUT first (refused when OUT "
                     "holds other files, or is /, your home, the current folder or a mount point)")
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
    scene.add_argument("--overwrite", action="store_true",
                       help="remove vizsynth's files of an existing vizsynth dataset in OUT first")
    scene.add_argument("--image-format", choices=("png", "jpg"), default="png",
                       help="rgb format of hand-made scenes (default png); frame records keep their own")

    replay = sub.add_parser("replay", help="re-render one frame of a dataset from its record alone",
                            description="Render frame I again from frames/.../I.json (its full SceneSpec, effects "
                            "included) with the dataset's config, into OUT at the same paths, and say whether "
                            "every file is byte-identical to the original.")
    replay.add_argument("dataset", type=Path, help="a dataset folder made by generate")
    replay.add_argument("--frame", type=int, required=True, help="the frame index")
    replay.add_argument("--out", type=Path, default=None,
                        help="output folder, outside the dataset (default DATASET_replay_I beside it)")
    replay.add_argument("--overwrite", action="store_true", help="replace an earlier replay in OUT")

    preview = sub.add_parser("preview", help="a contact sheet of frames with their labels drawn on",
                             description="Decode each frame's record (RLE masks, boxes, categories, projected 3D "
                             "boxes, keypoints) and draw them on its image, with a depth thumbnail in the corner.")
    preview.add_argument("dataset", type=Path, help="a dataset folder made by generate or render-scene (or its "
                         "annotations.json); labels are drawn from its frame records")
    preview.add_argument("-n", "--num-frames", type=int, default=16, help="the first N frames (default 16)")
    preview.add_argument("--frames", type=int, nargs="+", default=None, help="these frame indices instead")
    preview.add_argument("--out", type=Path, default=Path("preview.png"), help="image to write (default preview.png)")
    preview.add_argument("--columns", type=int, default=4, help="frames per row, >= 1 (default 4)")
    preview.add_argument("--scale", type=float, default=0.5, help="resize factor per frame, in (0, 8] (default 0.5)")

    video = sub.add_parser("preview-sequence", help="a GIF or MP4 of one sequence: image | flow colour | tracks",
                           description="Read a sequence's frames back (images, forward .flo, records) and write "
                           "them side by side: the image, its forward flow in the Middlebury colour wheel, and "
                           "each object's box, track id and path.")
    video.add_argument("dataset", type=Path, help="a dataset folder of sequences made by generate")
    video.add_argument("--sequence", type=int, default=0, help="the sequence index, >= 0 (default 0)")
    video.add_argument("--out", type=Path, default=Path("sequence.gif"), help=".gif or .mp4 (default sequence.gif)")
    video.add_argument("--scale", type=float, default=1.0, help="resize factor, in (0, 8] (default 1)")

    check = sub.add_parser("validate", help="check a dataset folder or COCO file strictly",
                           description="Check ids, categories, boxes against masks, areas, RLE sizes, image files "
                           "and sizes; for vizsynth folders also the manifest, frame records, instance and depth "
                           "maps. Lists problems grouped by kind; exit 0 only when clean.")
    check.add_argument("path", type=Path, help="a dataset folder (its annotations.json, else its frame records) or "
                       "its annotations.json, or a COCO JSON file")
    check.add_argument("--images", type=Path, default=None,
                       help="image root for a COCO file (default: the folder's images/, or the file's folder)")

    stats = sub.add_parser("stats", help="dataset statistics and an HTML report, optionally against others",
                           description="Class balance, objects per image, box size and aspect ratio, object "
                           "centres, visibility and truncation, depth range, brightness and colour. Writes "
                           "stats.json, PNG plots and report.html; with --compare, both datasets on the same axes "
                           "and a distance per statistic (L1 on class frequencies, Wasserstein otherwise).")
    stats.add_argument("path", type=Path, help="a dataset folder (its annotations.json, else its frame records) or "
                       "its annotations.json, or a COCO JSON file")
    stats.add_argument("--images", type=Path, default=None, help="image root for a COCO file")
    stats.add_argument("--compare", type=Path, nargs="+", default=[], metavar="OTHER",
                       help="other datasets (folders or COCO files) to compare with")
    stats.add_argument("--compare-images", type=Path, nargs="+", default=None, metavar="DIR",
                       help="image roots of the --compare COCO files, in the same order")
    stats.add_argument("--out", type=Path, default=Path("stats"), help="report folder (default ./stats)")
    stats.add_argument("--max-images", type=int, default=500, help="images read for pixel statistics (default 500)")

    exp = sub.add_parser("experiment", help="domain-randomization experiment: generate variants, train, test on real",
                         description="For each variant of EXPERIMENT.yaml: generate its dataset, train a torchvision "
                         "detector, evaluate box AP on the real sets and a synthetic val split; write results.json, "
                         "results.md, ap50.png, training curves and drawn predictions into OUT. Rerun the same "
                         "command to resume: finished variants are kept, trainings continue from checkpoints. "
                         'Needs pip install "vizsynth[train]" (torch, torchvision).')
    exp.add_argument("experiment", type=Path, help="experiment YAML (see configs/experiments/ycbv_dr.yaml)")
    exp.add_argument("--out", required=True, type=Path, help="experiment folder (new, empty, or one to resume)")
    exp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override an experiment field, value as YAML, e.g. --set frames_per_variant=200 "
                     "--set train.iterations=500")
    exp.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                     help="train.device (default: the file's, auto = cuda when available)")
    exp.add_argument("--no-progress", action="store_true", help="no progress bars")

    show = sub.add_parser("show-config", help="print the fully resolved config as YAML")
    show.add_argument("config", nargs="?", help="YAML config (default: the built-in default)")
    show.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return parser


def _generate(args: argparse.Namespace) -> int:
    from vizsynth.config import load_config
    from vizsynth.run.job import generate
    from vizsynth.run.local import llvmpipe_threads, run_frames
    from vizsynth.run.worker_process import tune_worker_process

    config = load_config(args.config, args.overrides)
    if args.workers <= 1 and args.executor != "ray":  # this process renders: it is a worker (run/worker_process.py)
        tune_worker_process(llvmpipe_threads(1))
    executor = run_frames
    if args.executor == "ray":
        from vizsynth.run.ray_executor import RayExecutor

        executor = RayExecutor(args.ray_address, gpus_per_worker=args.ray_gpus_per_worker)
    summary = generate(
        config, args.out, args.num_frames, seed=args.seed, workers=args.workers,
        resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress, executor=executor,
        gpus=args.gpus,
    )
    kept = summary.completed - summary.rendered
    rate = summary.rendered / summary.seconds if summary.seconds > 0 else 0.0
    print(
        f"{summary.out_dir}: {summary.completed}/{summary.num_frames} frames"
        f"{f' ({kept} kept from before)' if kept else ''}, {summary.num_annotations} objects annotated, "
        f"{summary.seconds:.1f} s ({rate:.1f} frames/s), {len(summary.failed)} failed"
    )
    if config.constraints.active and summary.acceptance_rate is not None:
        print(f"frame constraints: {summary.acceptance_rate:.1%} of sampled scenes accepted")
    for index, error in sorted(summary.failed.items()):
        print(f"frame {index} failed: {error.splitlines()[0]}", file=sys.stderr)
    if summary.failed:
        deterministic = [i for i in summary.failed if i in summary.deterministic_failures]
        print(f"failed frames are listed in {summary.out_dir / 'manifest.json'}", file=sys.stderr)
        if deterministic:
            print(f"{len(deterministic)} of them failed for a reason that depends only on the config, seed and index "
                  "(each frame is deterministic): --resume would fail them again; change the limit their message names "
                  "(e.g. constraints.max_tries, objects.max_placement_tries) and generate anew",
                  file=sys.stderr)
        if len(deterministic) < len(summary.failed):
            print("rerun with --resume to retry the others", file=sys.stderr)
    return 0 if summary.ok else 1


def _render_scene(args: argparse.Namespace) -> int:
    from vizsynth.config import OutputConfig
    from vizsynth.run.fixed_scenes import render_scenes

    n = render_scenes(args.scenes, args.out, output=OutputConfig(image_format=args.image_format),
                      overwrite=args.overwrite)
    print(f"{args.out}: {len(args.scenes)} frames, {n} objects annotated")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from vizsynth.run.fixed_scenes import replay_frame

    dataset = args.dataset.resolve()
    out = args.out or dataset.with_name(f"{dataset.name}_replay_{args.frame}")
    same = replay_frame(args.dataset, args.frame, out, overwrite=args.overwrite)
    for name, identical in sorted(same.items()):
        print(f"{name}: {'identical' if identical else 'DIFFERENT'}")
    print(f"{out}: frame {args.frame} replayed, {sum(same.values())}/{len(same)} files byte-identical")
    return 0 if all(same.values()) else 1


MAX_PREVIEW_SCALE = 8.0  # a 640x480 frame becomes 5120x3840: beyond that a sheet exhausts memory


def _preview(args: argparse.Namespace) -> int:
    import json

    import cv2

    from vizsynth.imagefiles import write_image
    from vizsynth.io.preview import preview_grid
    from vizsynth.validate import dataset_folder

    # Every argument is checked before the dataset is read, so a typo costs nothing.
    if args.columns < 1:
        raise VizsynthError(f"--columns must be >= 1, got {args.columns}")
    if not 0 < args.scale <= MAX_PREVIEW_SCALE:
        raise VizsynthError(f"--scale must be in (0, {MAX_PREVIEW_SCALE:g}], got {args.scale:g}")
    if args.frames is not None and min(args.frames) < 0:
        raise VizsynthError(f"--frames must be >= 0, got {min(args.frames)}")
    if not cv2.haveImageWriter(f"preview{args.out.suffix}"):  # by extension: the path may not be UTF-8
        raise VizsynthError(f"--out {args.out}: cannot write '{args.out.suffix}' images; use a .jpg or .png name")
    dataset = dataset_folder(args.dataset) or args.dataset  # DS/annotations.json names DS
    frames = args.frames
    if frames is None:
        manifest = dataset / "manifest.json"
        try:
            total = json.loads(manifest.read_bytes()).get("num_frames", 0) if manifest.is_file() else args.num_frames
        except (ValueError, AttributeError):
            raise VizsynthError(f"{manifest} is corrupt; name the frames to draw with --frames") from None
        frames = list(range(min(args.num_frames, total)))
    if not frames:
        raise VizsynthError(f"{args.dataset}: no frames to preview")
    grid = preview_grid(dataset, frames, args.columns, args.scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not write_image(args.out, grid):
        raise VizsynthError(f"cannot write {args.out}: use a .jpg or .png name in a writable folder")
    print(f"{args.out}: {len(frames)} frames (labels from frame records)")
    return 0


def _preview_sequence(args: argparse.Namespace) -> int:
    from vizsynth.io.video_preview import VIDEO_SUFFIXES, sequence_frames, write_video

    if args.sequence < 0:
        raise VizsynthError(f"--sequence must be >= 0, got {args.sequence}")
    if not 0 < args.scale <= MAX_PREVIEW_SCALE:
        raise VizsynthError(f"--scale must be in (0, {MAX_PREVIEW_SCALE:g}], got {args.scale:g}")
    if args.out.suffix.lower() not in VIDEO_SUFFIXES:
        raise VizsynthError(f"--out {args.out}: a video preview is .gif or .mp4, got '{args.out.suffix}'")
    frames, fps = sequence_frames(args.dataset, args.sequence, args.scale)
    write_video(args.out, frames, fps)
    print(f"{args.out}: sequence {args.sequence}, {len(frames)} frames")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from vizsynth.validate import validate_dataset

    report = validate_dataset(args.path, args.images)
    print(report.format())
    return 0 if report.ok else 1


def _stats(args: argparse.Namespace) -> int:
    from vizsynth.stats import compute_stats, summary_table, write_report

    roots = args.compare_images or [None] * len(args.compare)
    if len(roots) != len(args.compare):
        raise VizsynthError(f"--compare-images needs one folder per --compare dataset ({len(args.compare)}), "
                            f"got {len(roots)}")
    main_stats = compute_stats(args.path, args.images, args.max_images)
    others = [compute_stats(p, r, args.max_images) for p, r in zip(args.compare, roots)]
    result = write_report(main_stats, args.out, others)
    for warning in result["warnings"]:
        print(f"vizsynth: warning: {warning}", file=sys.stderr)
    print(summary_table(result))
    print(f"report: {args.out / 'report.html'}")
    return 0


def _experiment(args: argparse.Namespace) -> int:
    from vizsynth.experiment import load_experiment, run_experiment

    overrides = list(args.overrides) + ([f"train.device={args.device}"] if args.device else [])
    spec = load_experiment(args.experiment, overrides)
    results = run_experiment(spec, args.out, progress=not args.no_progress)
    print((args.out / "results.md").read_text(), end="")
    print(f"{args.out}: {len(results['variants'])} variants on {results['device']}; results.json, results.md, "
          "ap50.png, curves/, predictions/")
    return 0


def _show_config(args: argparse.Namespace) -> int:
    from vizsynth.config import load_config

    print(load_config(args.config, args.overrides).to_yaml(), end="")
    return 0


def _unencodable(error: UnicodeEncodeError) -> tuple[bytes | str, int]:
    """Encoding error handler: a path that is not valid UTF-8 (surrogate escapes) is printed as its
    original bytes; any other character the stream cannot encode (ascii stdout, an output folder
    named données) as a backslash escape."""
    text = error.object[error.start:error.end]
    if all(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        return bytes(ord(c) - 0xDC00 for c in text), error.end
    return codecs.backslashreplace_errors(error)


def _print_anything() -> None:
    """Messages and summaries never end in a UnicodeEncodeError after the work is done."""
    codecs.register_error("vizsynth-unencodable", _unencodable)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="vizsynth-unencodable")


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; returns the exit code: 0 ok, 1 some frames failed (or validate found problems),
    2 an error vizsynth explains (bad input, unusable or full output folder), 128 + signal number when
    interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)."""
    _print_anything()
    args = _parser().parse_args(argv)
    handlers = {"generate": _generate, "render-scene": _render_scene, "replay": _replay, "preview": _preview,
                "preview-sequence": _preview_sequence,
                "validate": _validate, "stats": _stats, "show-config": _show_config,
                "experiment": _experiment}
    try:
        return handlers[args.command](args)
    except VizsynthError as exc:
        print(f"vizsynth: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP during a job (errors.Interrupted)
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"vizsynth: interrupted by {signal.Signals(signum).name}; finish the job with --resume",
              file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
