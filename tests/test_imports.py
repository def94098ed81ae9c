"""The core imports no GL: only rendering loads pyrender/OpenGL; the public names stay as documented."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import vizsynth

ROOT = Path(__file__).parents[1]
GL_MODULES = ("pyrender", "OpenGL")

# The stages that plan, sample, measure and write: none of them may need a GL library.
GL_FREE = [
    "vizsynth", "vizsynth.cli", "vizsynth.config", "vizsynth.seeding", "vizsynth.sampling", "vizsynth.annotate",
    "vizsynth.io", "vizsynth.validate", "vizsynth.stats", "vizsynth.pipeline", "vizsynth.render", "vizsynth.run.job",
]

PUBLIC = {
    "AssetError": "vizsynth.errors", "ConfigError": "vizsynth.errors", "DatasetConfig": "vizsynth.config",
    "Frame": "vizsynth.results", "JobSummary": "vizsynth.run.job", "OutputError": "vizsynth.errors",
    "PlacementError": "vizsynth.errors", "RenderError": "vizsynth.errors", "SceneError": "vizsynth.errors",
    "SceneSpec": "vizsynth.scene", "VizsynthError": "vizsynth.errors", "__version__": "vizsynth.version",
    "generate": "vizsynth.run.job", "iter_frames": "vizsynth.api", "load_config": "vizsynth.config",
    "load_scene": "vizsynth.scene", "render_frame": "vizsynth.api", "render_scene": "vizsynth.api",
    "render_scenes": "vizsynth.run.fixed_scenes",
}


def _fresh(code: str) -> dict:
    """Runs ``code`` in a new interpreter (this checkout first on sys.path); returns the JSON it prints last."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def _loaded_gl() -> str:
    return f"[m for m in {GL_MODULES!r} if m in sys.modules]"


@pytest.mark.parametrize("module", GL_FREE)
def test_module_imports_without_pyrender_or_opengl(module):
    out = _fresh(f"import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps({_loaded_gl()}))")
    assert out == [], f"importing {module} loaded {out}"


def test_every_public_name_resolves_without_gl():
    code = (
        "import json, sys, vizsynth; "
        "origin = {n: getattr(getattr(vizsynth, n), '__module__', None) for n in vizsynth.__all__}; "
        f"print(json.dumps({{'origin': origin, 'gl': {_loaded_gl()}}}))"
    )
    out = _fresh(code)
    assert out["gl"] == []
    expected = {name: module for name, module in PUBLIC.items() if name != "__version__"}
    assert {n: m for n, m in out["origin"].items() if n != "__version__"} == expected


def test_star_import_gives_exactly_the_public_names():
    out = _fresh("import json; from vizsynth import *; print(json.dumps(sorted(n for n in dir() if not n.startswith('_') "
                 "or n == '__version__')))")
    assert sorted(set(out) - {"json"}) == sorted(PUBLIC)


def test_public_names_are_pinned_and_each_is_its_module_object():
    import importlib

    assert sorted(vizsynth.__all__) == sorted(PUBLIC)
    for name, module in PUBLIC.items():
        assert getattr(vizsynth, name) is getattr(importlib.import_module(module), name), name
    assert set(vizsynth.__all__) <= set(dir(vizsynth))
    with pytest.raises(AttributeError, match="no attribute 'render_frames'"):
        vizsynth.render_frames  # noqa: B018 (the attribute access is the test)


def test_result_types_are_one_class_wherever_imported_from():
    from vizsynth import pipeline, render, results
    from vizsynth.annotate import annotator

    assert render.RenderResult is results.RenderResult is annotator.RenderResult
    assert render.Silhouette is results.Silhouette
    assert pipeline.Frame is results.Frame is vizsynth.Frame


@pytest.mark.gl
def test_renderer_loads_gl_on_first_use_and_keeps_the_old_names():
    code = (
        "import json, sys; import vizsynth.render as r; before = " + _loaded_gl() + "; "
        "from vizsynth.render import Renderer; from vizsynth.render.renderer import RenderResult, Silhouette; "
        "import vizsynth.results as res; "
        "print(json.dumps({'before': before, 'after': " + _loaded_gl() + ", "
        "'same': RenderResult is res.RenderResult and Silhouette is res.Silhouette and r.Renderer is Renderer}))"
    )
    assert _fresh(code) == {"before": [], "after": list(GL_MODULES), "same": True}
