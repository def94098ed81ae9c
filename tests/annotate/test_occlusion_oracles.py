"""Amodal masks, visibility, truncation and keypoint flags against analytic oracles."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import annotate, camera
from vizsynth import render  # its Renderer (and pyrender) loads on first use, not at collection
from vizsynth.assets.keypoints import PRIMITIVE_KEYPOINTS
from vizsynth.scene import ObjectSpec, SceneSpec

pytestmark = pytest.mark.gl  # every test here renders

W, H, F = 480, 360, 2000.0
K = [[F, 0, (W - 1) / 2], [0, F, (H - 1) / 2], [0, 0, 1]]


@pytest.fixture(scope="module")
def big_renderer(library):
    with render.Renderer(library, W, H) as r:
        yield r


def _at(x, y, z):
    pose = np.eye(4)
    pose[:3, 3] = [x, y, z]
    return pose


def _scene(*objects):
    return SceneSpec(camera=camera(K, W, H), objects=tuple(objects), lights=())


def _projected_radius(r, d):
    return F * r / np.sqrt(d * d - r * r)


def _lens_area(r1, r2, d):
    """Area of the intersection of two circles with radii r1, r2 and centre distance d."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return np.pi * min(r1, r2) ** 2
    a = r1 * r1 * np.arccos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
    b = r2 * r2 * np.arccos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
    c = 0.5 * np.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2))
    return a + b - c


@pytest.mark.parametrize("offset_m", [0.1, 0.15, 0.3])
def test_sphere_behind_sphere_visibility_is_the_circle_overlap(big_renderer, library, offset_m):
    front = ObjectSpec(1, "sphere", "sphere", None, 0.5, _at(0, 0, 5.0))
    back = ObjectSpec(2, "sphere", "sphere", None, 0.6, _at(offset_m, 0, 6.0))
    scene = _scene(front, back)
    annotations = annotate(scene, big_renderer.render(scene, amodal=True), library)
    r_front, r_back = _projected_radius(0.25, 5.0), _projected_radius(0.3, 6.0)
    centre_distance = F * offset_m / 6.0
    expected = 1 - _lens_area(r_front, r_back, centre_distance) / (np.pi * r_back**2)
    measured = annotations.objects[1]
    assert measured.visibility == pytest.approx(expected, abs=0.01)
    assert annotations.objects[0].visibility == pytest.approx(1.0)
    assert measured.truncation == 0.0


def test_sphere_half_outside_the_image_is_half_truncated(big_renderer, library):
    z = 4.0
    x = (-0.5 - K[0][2]) * z / F  # the centre projects onto the image's left edge
    scene = _scene(ObjectSpec(1, "sphere", "sphere", None, 0.4, _at(x, 0, z)))
    measured = annotate(scene, big_renderer.render(scene, amodal=True), library).objects[0]
    assert measured.truncation == pytest.approx(0.5, abs=0.02)
    assert measured.visibility == pytest.approx(1.0)
    assert measured.amodal_bbox_xywh[0] < 0, "the amodal box is not clipped to the image"


def test_occluded_cube_amodal_box_is_its_unoccluded_projection(big_renderer, library):
    rng = np.random.default_rng(0)
    from vizsynth.sampling.objects import sample_rotation

    pose = _at(0.05, 0.02, 5.0)
    pose[:3, :3] = sample_rotation("uniform", rng=rng)
    cube = ObjectSpec(1, "cube", "cube", None, 0.5, pose)
    occluder = ObjectSpec(2, "sphere", "sphere", None, 0.35, _at(0.1, 0.05, 3.5))
    scene = _scene(cube, occluder)
    measured = annotate(scene, big_renderer.render(scene, amodal=True), library).objects[0]
    assert 0.2 < measured.visibility < 0.9, "the cube must be partly hidden for this test to mean anything"
    corners = np.array([[x, y, z] for x in (-0.25, 0.25) for y in (-0.25, 0.25) for z in (-0.25, 0.25)])
    cam = corners @ pose[:3, :3].T + pose[:3, 3]
    uv = cam[:, :2] / cam[:, 2:] * F + [K[0][2], K[1][2]]
    expected = [np.ceil(uv[:, 0].min()), np.ceil(uv[:, 1].min()), np.floor(uv[:, 0].max()), np.floor(uv[:, 1].max())]
    x, y, w, h = measured.amodal_bbox_xywh
    np.testing.assert_allclose([x, y, x + w - 1, y + h - 1], expected, atol=1)
    # And the visible mask lies inside the amodal one.
    assert measured.area <= measured.amodal_area


def test_keypoint_flags_visible_occluded_and_outside(big_renderer, library):
    size, z = 0.4, 4.0
    # Cube straddling the left image edge: its left corners fall outside the image.
    x = (-0.5 - K[0][2]) * (z - size / 2) / F
    cube = ObjectSpec(1, "cube", "cube", None, size, _at(x, 0, z))
    # A small sphere in front of the cube's top-right-front corner.
    corner = np.array([x + size / 2, -size / 2, z - size / 2])
    blocker = ObjectSpec(2, "sphere", "sphere", None, 0.08, _at(*(corner * 0.75)))
    scene = _scene(cube, blocker)
    annotations = annotate(scene, big_renderer.render(scene, amodal=True), library)
    flags = dict(zip(PRIMITIVE_KEYPOINTS["cube"].names, annotations.objects[0].keypoints[:, 2].astype(int)))
    assert flags["corner_+--"] == 1, "front corner behind the small sphere"
    assert flags["corner_++-"] == 2, "front corner in plain view"
    assert flags["corner_---"] == 0 and flags["corner_-+-"] == 0, "left corners are outside the image"

    # A cube straight ahead: its back corners project inside its own front face.
    ahead = _scene(ObjectSpec(1, "cube", "cube", None, size, _at(0, 0, z)))
    annotations = annotate(ahead, big_renderer.render(ahead, amodal=True), library)
    flags = dict(zip(PRIMITIVE_KEYPOINTS["cube"].names, annotations.objects[0].keypoints[:, 2].astype(int)))
    assert all(flags[name] == 1 for name in flags if name.endswith("+")), flags
    assert all(flags[name] == 2 for name in flags if name.endswith("-")), flags


def test_distractors_occlude_but_are_never_labelled(big_renderer, library):
    cube = ObjectSpec(1, "cube", "cube", None, 0.5, _at(0, 0, 5.0))
    blocker = ObjectSpec(2, "distractor", "sphere", None, 0.3, _at(0.1, 0, 3.0), distractor=True)
    scene = _scene(cube, blocker)
    result = big_renderer.render(scene, amodal=True)
    annotations = annotate(scene, result, library)
    assert [a.instance_id for a in annotations.objects] == [1]
    assert 2 in np.unique(result.instance_ids), "the distractor is drawn and hides part of the cube"
    assert 0.3 < annotations.objects[0].visibility < 0.95


def test_generated_distractors_never_reach_the_labels(tmp_path):
    import json

    import vizsynth

    out = tmp_path / "data"
    config = {"image": {"width": 96, "height": 72}, "objects": {"placement": "flying", "count": 3},
              "distractors": {"count": 5}, "output": {"formats": ["coco", "yolo"]}}
    assert vizsynth.generate(config, out, num_frames=4, seed=1, progress=False).ok
    coco = json.loads((out / "annotations.json").read_text())
    assert "distractor" not in {c["name"] for c in coco["categories"]}
    assert {a["vizsynth_instance_id"] for a in coco["annotations"]} <= {1, 2, 3}
    for path in (out / "frames").rglob("*.json"):
        record = json.loads(path.read_text())
        assert sum(o.get("distractor", False) for o in record["objects"]) == 5
        assert all(a["instance_id"] <= 3 for a in record["record"]["annotations"])
