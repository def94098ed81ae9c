"""Frame i depends only on (config, seed, i): across calls, processes and stages."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vizsynth
from vizsynth.assets import MeshLibrary, build_catalog
from vizsynth.config import load_config
from vizsynth.io.frame_writer import annotation_records
from vizsynth.sampling import sample_scene
from vizsynth.scene import scene_to_dict

SMALL = {"image": {"width": 64, "height": 48}}


def frame_digest(frame) -> str:
    h = hashlib.sha256()
    for array in (frame.rgb, frame.depth_m, frame.instance_ids):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(repr(annotation_records(frame.annotations)).encode())
    h.update(repr(scene_to_dict(frame.spec)).encode())
    return h.hexdigest()


@pytest.mark.gl
def test_same_frame_in_a_new_process_is_identical():
    here = frame_digest(vizsynth.render_frame(SMALL, seed=7, index=3))
    code = (
        "import vizsynth; from tests.test_determinism import frame_digest, SMALL; "
        "print(frame_digest(vizsynth.render_frame(SMALL, seed=7, index=3)))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    ).stdout.strip()
    assert here == there


@pytest.mark.gl
def test_iterator_frames_equal_single_frames_and_differ_by_index():
    frames = list(vizsynth.iter_frames(SMALL, seed=7, start=2, stop=5))
    digests = [frame_digest(f) for f in frames]
    assert digests[1] == frame_digest(vizsynth.render_frame(SMALL, seed=7, index=3))
    assert len(set(digests)) == 3
    assert frame_digest(vizsynth.render_frame(SMALL, seed=8, index=3)) != digests[1]


def test_stages_draw_from_independent_streams():
    """Changing the lighting config must not move the camera or the objects."""
    library = MeshLibrary()
    base = load_config(SMALL)
    more_lights = load_config(SMALL, ["lights.count=4", "lights.intensity={loguniform: [1, 9]}"])
    catalog = build_catalog(base.objects.assets, library)
    for index in range(5):
        a = sample_scene(base, catalog, seed=1, index=index)
        b = sample_scene(more_lights, catalog, seed=1, index=index)
        assert len(b.lights) == 4
        np.testing.assert_array_equal(a.camera.world_to_cam, b.camera.world_to_cam)
        assert scene_to_dict(a)["objects"] == scene_to_dict(b)["objects"]


@pytest.mark.gl
def test_many_lights_of_one_type_render_identically_every_time():
    """pyrender keeps lights in sets; their summation order must not change the colours."""
    config = {**SMALL, "lights": {"count": 4, "type": "point"}}
    digests = {frame_digest(vizsynth.render_frame(config, seed=0, index=i % 2)) for i in range(10)}
    assert len(digests) == 2


@pytest.mark.gl
def test_shadows_do_not_depend_on_earlier_frames():
    """Shadow maps are sized from the visible meshes only, not from meshes hidden for reuse."""
    config = {**SMALL, "render": {"shadows": True}, "background": {"floor": True},
              "lights": {"type": "directional", "count": 2}}
    alone = frame_digest(vizsynth.render_frame(config, seed=3, index=9))
    after_others = list(vizsynth.iter_frames(config, seed=3, start=0, stop=10))[-1]
    assert frame_digest(after_others) == alone
