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


@pytest.mark.parametrize("lookup", ["gl library", "eglGetProcAddress"])
def test_uniforms_reach_gl_as_sent(lookup):
    # vizsynth sends uniforms through its own ctypes prototypes of glUniform*; GL's own read-back
    # (glGetUniform*) is the oracle. "eglGetProcAddress": looked up in a library that exports no
    # GL function (libm), so every entry point comes from EGL instead.
    import ctypes
    import ctypes.util

    from OpenGL import GL

    from vizsynth.render.context import GLContext, _ProgramCache, _UniformSetters

    gl = GLContext(8, 8)
    try:
        setters = _UniformSetters(None if lookup == "gl library" else ctypes.CDLL(ctypes.util.find_library("m")))
        programs = _ProgramCache(str(_shader_dir()), setters)
        program = programs.get_program("labels.vert", "labels.frag", defines={"INST_M_LOC": 1})
        program._add_to_context()
        program._bind()
        pose = np.arange(16, dtype=np.float64).reshape(4, 4) / 7.0  # float64, as pyrender's poses are
        program.set_uniform("M", pose)
        program.set_uniform("instance_id", 65535, unsigned=True)
        program.set_uniform("no_such_uniform", 1.0)  # ignored, as pyrender ignores it
        program.set_uniform("instance_id", 0.5)  # a float for a uint: GL refuses it, and it is ignored
        assert GL.glGetError() == GL.GL_NO_ERROR  # nothing left over for the next checked GL call
        got = np.zeros(16, np.float32)
        GL.glGetUniformfv(program._program_id, GL.glGetUniformLocation(program._program_id, "M"), got)
        # Sent transposed from row-major: GL holds column-major, so its storage is pose.T row by row.
        np.testing.assert_array_equal(got, pose.astype(np.float32).T.ravel())
        value = np.zeros(1, np.uint32)
        GL.glGetUniformuiv(program._program_id, GL.glGetUniformLocation(program._program_id, "instance_id"), value)
        assert value[0] == 65535
        program._unbind()
        programs.clear()
    finally:
        gl.close()


def _shader_dir():
    from pathlib import Path

    import vizsynth.render.context as context

    return Path(context.__file__).parent / "shaders"
