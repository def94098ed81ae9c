"""Regenerates the README's pictures from the commands the README names next to each one.

    python docs/pictures.py                          every picture
    python docs/pictures.py example_frames config_ycbv   only these

A picture is made by running its `vizsynth` commands (``PICTURES``) through the CLI, with a fresh
temporary folder standing in for the README's dataset folder, so the picture is what a reader
who runs the caption's commands gets. ``config_flow`` is made by docs/flow_picture.py (frames and
flow of one sequence side by side: no single vizsynth command draws that). The ycbv_dr plot is a
result of the H100 experiment in docs/ycbv_dr_h100_results.md, not a command's picture.
tests/test_readme_pictures.py checks that the README names every command here and that the top
picture is what its commands make.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("tabletop", "flying_distractors", "ycbv", "bin_picking", "clutter")
# The README's "Ready configs" section states this pair once for every config picture.
CONFIG_GENERATE = "vizsynth generate configs/NAME.yaml --out /tmp/NAME -n 6"
CONFIG_PREVIEW = "vizsynth preview /tmp/NAME -n 6 --columns 3 --out docs/config_NAME.jpg"
PICTURES: dict[str, tuple[str, str]] = {
    "example_frames": ("vizsynth generate --out dataset -n 6",
                       "vizsynth preview dataset -n 6 --columns 3 --out docs/example_frames.jpg"),
    **{f"config_{name}": (CONFIG_GENERATE.replace("NAME", name), CONFIG_PREVIEW.replace("NAME", name))
       for name in CONFIGS},
}
FLOW_PICTURE = "config_flow"


def _argv(command: str, dataset: str, work_dir: Path, out_root: Path) -> list[str]:
    """The CLI arguments of a README command: its dataset folder moved into ``work_dir``, its
    picture (``docs/...``) under ``out_root``."""
    words = shlex.split(command)
    assert words[0] == "vizsynth", command
    moved = {dataset: str(work_dir / Path(dataset).name)}
    return [moved.get(w, str(out_root / w) if w.startswith("docs/") else w) for w in words[1:]]


def make_picture(name: str, work_dir: Path, out_root: Path = ROOT) -> Path:
    """Runs picture ``name``'s commands; the dataset goes into ``work_dir`` (which must not hold
    it yet), the picture to ``out_root / docs / ...``. Returns the picture's path.

    Raises:
        RuntimeError: a command exits non-zero.
    """
    if name == FLOW_PICTURE:
        sys.path.insert(0, str(ROOT / "docs"))
        import flow_picture

        flow_picture.main(work_dir / "flow")
        return ROOT / "docs" / "config_flow.jpg"
    from vizsynth.cli import main

    generate, preview = PICTURES[name]
    dataset = shlex.split(generate)[shlex.split(generate).index("--out") + 1]
    for command in (generate, preview):
        argv = _argv(command, dataset, work_dir, out_root)
        if argv[0] == "generate":
            argv.append("--no-progress")
        if main(argv) != 0:
            raise RuntimeError(f"{command!r} failed")
    return out_root / shlex.split(preview)[-1]


if __name__ == "__main__":
    names = sys.argv[1:] or [*PICTURES, FLOW_PICTURE]
    unknown = sorted(set(names) - {*PICTURES, FLOW_PICTURE})
    if unknown:
        sys.exit(f"unknown pictures {unknown}; known: {[*PICTURES, FLOW_PICTURE]}")
    for picture in names:
        with tempfile.TemporaryDirectory() as tmp:
            sys.stdout.write(f"{make_picture(picture, Path(tmp))}\n")
