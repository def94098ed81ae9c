"""What `pip install .` installs: every file the package reads at run time must be in the wheel.

The tests import vizsynth from the checkout, where every file exists, so a file left out of the
wheel (the shaders once were) breaks only installed copies: the README's first command. This
builds the wheel with the project's own build backend and looks inside it.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_file_of_the_package(tmp_path):
    # The test extra brings setuptools >= 70.1, whose bdist_wheel is built in (older ones need `wheel`)
    pytest.importorskip("setuptools", minversion="70.1", reason="building the wheel offline needs setuptools "
                        ">= 70.1 in this environment (the test extra)")
    # A clean source tree, as a fresh clone has it: a checkout's leftover build metadata
    # (vizsynth.egg-info/SOURCES.txt) would otherwise add files the project's settings leave out.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(REPO / "vizsynth", source / "vizsynth", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(source)], capture_output=True, text=True, cwd=tmp_path)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("vizsynth-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "vizsynth"
    wanted = {p.relative_to(REPO).as_posix() for p in package.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert any(name.endswith("shaders/labels.vert") for name in wanted)  # the check sees non-Python files
    assert sorted(wanted - packaged) == []
