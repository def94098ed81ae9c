"""The README's pictures are what the commands named beside them make (docs/pictures.py)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import pictures  # noqa: E402  (docs/pictures.py: a script, not a package module)

README = (ROOT / "README.md").read_text()


def test_readme_names_the_commands_of_every_picture():
    shown = set(re.findall(r"!\[[^\]]*\]\(docs/([\w.]+)\.jpg\)", README))
    assert shown == {*pictures.PICTURES, pictures.FLOW_PICTURE}, "every README picture has its commands, no more"
    top_generate, top_preview = pictures.PICTURES["example_frames"]
    assert f"`{top_generate}`" in README and f"`{top_preview}`" in README
    assert f"`{pictures.CONFIG_GENERATE}`" in README and f"`{pictures.CONFIG_PREVIEW}`" in README
    assert "`python docs/flow_picture.py`" in README


def _differing_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels where some channel differs by more than 40 levels (JPEG noise stays below)."""
    return float((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 40).mean())


@pytest.mark.gl
def test_top_picture_is_what_its_commands_make(tmp_path):
    """Runs the README's two commands at the picture's own size (6 frames of 640x480, a few
    seconds) and compares with the committed picture. Stale pictures differ on several % of their
    pixels (the committed one of an earlier material sampler: 5%); a different renderer (Mesa
    version, GPU) moves antialiased edges by a level or two."""
    made = pictures.make_picture("example_frames", tmp_path / "work", out_root=tmp_path)
    ours = cv2.imread(str(made))
    committed = cv2.imread(str(ROOT / "docs" / "example_frames.jpg"))
    assert ours.shape == committed.shape == (480, 960, 3)
    assert _differing_share(ours, committed) < 0.002
    assert np.abs(ours.astype(int) - committed.astype(int)).mean() < 1.0
