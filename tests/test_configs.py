"""Every ready config in configs/ loads and renders a frame with labels."""

from __future__ import annotations

from pathlib import Path

import pytest

import vizsynth
from vizsynth.config import load_config

pytestmark = pytest.mark.gl  # every test here renders

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_ready_config_renders_a_labelled_frame(path):
    config = load_config(path, ["image.width=128", "image.height=96"])
    frame = vizsynth.render_frame(config, seed=0, index=0)
    assert frame.annotations.visible, f"{path.name}: frame 0 shows no labelled object"


def test_ready_configs_are_there():
    """Not inside the parametrised test: with configs/ empty that one is skipped, and this fails."""
    assert {"default", "tabletop", "flying_distractors", "ycbv"} <= {p.stem for p in CONFIGS}
