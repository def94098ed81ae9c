"""Shared fixtures: one GL context for the whole session, tiny in-memory assets; the ``gl`` marker.

Tests that need a GL context are marked ``gl`` (explicitly, or here when they use the ``renderer``
fixture), so ``pytest -m "not gl"`` runs the GL-free core. An unmarked test that imports pyrender
fails, so the marker stays honest.
"""

from __future__ import annotations

import sys

import pytest

from tests.helpers import SHARED_CONFIG, SHARED_FRAMES, SHARED_SEED
from vizsynth.assets.meshes import MeshLibrary


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "renderer" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gl)


@pytest.fixture(autouse=True)
def _unmarked_tests_load_no_gl(request):
    """Fails a test not marked ``gl`` that imports pyrender (checked only while nothing else has)."""
    before = "pyrender" in sys.modules
    yield
    if not before and "pyrender" in sys.modules and request.node.get_closest_marker("gl") is None:
        pytest.fail(f"{request.node.nodeid} imports pyrender (renders) but is not marked gl", pytrace=False)


@pytest.fixture(scope="session")
def library() -> MeshLibrary:
    return MeshLibrary()


@pytest.fixture(scope="session")
def renderer(library):
    from vizsynth.render import Renderer

    with Renderer(library, 64, 48) as r:
        yield r


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """One generated dataset (SHARED_CONFIG, SHARED_FRAMES frames, seed SHARED_SEED) for every test
    that only reads it or copies it before changing anything: made once per session, not per module."""
    import vizsynth

    out = tmp_path_factory.mktemp("shared") / "data"
    summary = vizsynth.generate(SHARED_CONFIG, out, num_frames=SHARED_FRAMES, seed=SHARED_SEED, progress=False)
    assert summary.ok and summary.completed == SHARED_FRAMES
    return out
