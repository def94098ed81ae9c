"""vizsynth's forward pass (camera and lights once per program) draws what pyrender's own does."""

from __future__ import annotations

import numpy as np
import pytest

from vizsynth.config import load_config
from vizsynth.render.context import _Renderer

pytestmark = pytest.mark.gl  # renders

ASSETS_CONFIG = {
    "image": {"width": 96, "height": 72},
    "objects": {"count": 6},
    "distractors": {"count": 3},
    "lights": {"count": 3, "type": {"choice": ["point", "directional", "spot"]}},
    "material": {"texture_probability": 0.5, "textures": ["checker", "noise"]},
    "background": {"floor": True},
}


def _frames(monkeypatch, pyrenders_own: bool) -> list:
    from vizsynth.pipeline import FrameRenderer

    if pyrenders_own:  # the lean pass hands every pass to pyrender's loop when lights are chosen per node
        monkeypatch.setattr(_Renderer, "_lights_chosen_per_node", lambda self, scene, flags: True)
    with FrameRenderer(load_config(ASSETS_CONFIG), 4) as frames:
        out = [frames.frame(i) for i in range(4)]
    monkeypatch.undo()
    return out


def test_the_lean_forward_pass_gives_pyrenders_pixels_byte_for_byte(monkeypatch):
    lean, own = _frames(monkeypatch, False), _frames(monkeypatch, True)
    programs = set()
    for a, b in zip(lean, own):
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_array_equal(a.instance_ids, b.instance_ids)
        np.testing.assert_array_equal(a.depth_m, b.depth_m)
        programs.add(len({o.material is not None and o.material.texture is None for o in a.spec.objects}))
    assert 2 in programs, "the frames must mix textured and untextured objects (two programs in a pass)"
