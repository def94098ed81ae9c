"""Rendered geometry against analytic pinhole oracles (independent of pyrender's conventions)."""

from __future__ import annotations

import numpy as np
import pytest
from OpenGL import GL

from tests.helpers import annotate, camera, single_object_scene
from vizsynth.maps import DEPTH_MAX_UNITS, encode_depth
from vizsynth.sampling.objects import sample_rotation

pytestmark = pytest.mark.gl  # every test here renders

W, H = 160, 120


def _software_rasteriser() -> bool:
    """Whether the current GL context (the renderer's, after a render) is Mesa's software rasteriser,
    read from GL here rather than from the renderer's own flag."""
    name = GL.glGetString(GL.GL_RENDERER).decode().lower()
    return any(software in name for software in ("llvmpipe", "softpipe", "swrast"))


def _translation(x, y, z):
    pose = np.eye(4)
    pose[:3, 3] = [x, y, z]
    return pose


@pytest.mark.parametrize(
    "fx, fy, cx, cy",
    [(150.0, 150.0, 79.5, 59.5), (140.0, 170.0, 60.25, 70.8), (200.0, 190.0, 95.0, 44.0)],
)
def test_sphere_depth_and_projected_circle(renderer, fx, fy, cx, cy):
    r, d = 0.1, 1.0
    cam = camera([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], W, H)
    result = renderer.render(single_object_scene(cam, "sphere", 2 * r, _translation(0, 0, d)))
    # The sphere's centre projects to (cx, cy); when that is a pixel centre its depth is d - r.
    u, v = int(round(cx)), int(round(cy))
    ray = np.array([(u - cx) / fx, (v - cy) / fy, 1.0])
    # z of the first hit of the ray through (u, v) on the sphere |p - (0,0,d)| = r.
    a, b, c = ray @ ray, -2 * d * ray[2], d * d - r * r
    expected_z = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert abs(result.depth_m[v, u] - expected_z) < 1e-3

    # Silhouette: the tangent cone has half-angle asin(r/d): a circle of radius f*tan on the image.
    tan = r / np.sqrt(d * d - r * r)
    expected = [np.ceil(cx - fx * tan), np.ceil(cy - fy * tan), np.floor(cx + fx * tan), np.floor(cy + fy * tan)]
    ys, xs = np.nonzero(result.instance_ids == 1)
    measured = [xs.min(), ys.min(), xs.max(), ys.max()]
    np.testing.assert_allclose(measured, expected, atol=1)


@pytest.mark.parametrize("seed", range(6))
def test_cube_bbox_equals_projected_corners(renderer, library, seed):
    rng = np.random.default_rng(seed)
    K = np.array([[rng.uniform(120, 200), 0, rng.uniform(60, 100)], [0, rng.uniform(120, 200), rng.uniform(45, 75)], [0, 0, 1]])
    size = rng.uniform(0.1, 0.2)
    pose = _translation(rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1), rng.uniform(0.9, 1.3))
    pose[:3, :3] = sample_rotation("uniform", rng=rng)
    cam = camera(K, W, H)
    scene = single_object_scene(cam, "cube", size, pose)
    result = renderer.render(scene)
    corners = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]) * size
    in_cam = corners @ pose[:3, :3].T + pose[:3, 3]
    uv = in_cam[:, :2] / in_cam[:, 2:] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
    assert uv.min() > 0 and uv[:, 0].max() < W - 1 and uv[:, 1].max() < H - 1, "test pose must stay in view"
    # Pixels whose centres (integers in OpenCV) fall inside the projected hull.
    expected = [np.ceil(uv[:, 0].min()), np.ceil(uv[:, 1].min()), np.floor(uv[:, 0].max()), np.floor(uv[:, 1].max())]
    x, y, w, h = annotate(scene, result, library).objects[0].bbox_xywh
    np.testing.assert_allclose([x, y, x + w - 1, y + h - 1], expected, atol=1)


def test_cube_face_depth_is_distance_minus_half_size(renderer):
    cam = camera([[150, 0, 79.5], [0, 150, 59.5], [0, 0, 1]], W, H)
    size, d = 0.2, 1.5
    result = renderer.render(single_object_scene(cam, "cube", size, _translation(0, 0, d)))
    face = result.depth_m[result.instance_ids == 1]
    # Every visible pixel sees the front face, which is parallel to the image plane.
    np.testing.assert_allclose(face, d - size / 2, atol=1e-3)
    assert (result.depth_m[result.instance_ids == 0] == 0).all()


@pytest.mark.parametrize("seed", range(3))
def test_depth_of_a_turned_cube_equals_ray_casting_through_pixel_centres(renderer, seed):
    """Depth is the z of the surface point each pixel centre sees, to micrometres: far enough away
    (2.5 m, near plane 1 cm) that a 24-bit depth buffer would be off by tens of micrometres.

    Mesa's software rasterisers interpolate in float32 and come within 3 um. GPUs interpolate with
    fewer bits: an NVIDIA H100 (driver 580) came within 3.0e-6 of z (7.4 um here), so other drivers
    are held to 1e-5 of z (25 um), still 40x below the depth PNG's 1 mm unit."""
    rng = np.random.default_rng(seed)
    K = np.array([[900.0, 0, 79.5], [0, 900.0, 59.5], [0, 0, 1]])
    size, pose = 0.3, _translation(rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), 2.5)
    pose[:3, :3] = sample_rotation("uniform", rng=rng)
    result = renderer.render(single_object_scene(camera(K, W, H), "cube", size, pose))
    v, u = np.nonzero(result.instance_ids == 1)
    assert len(u) > 1000
    # Slab method in the cube's frame: the ray o + t d (o = 0, d = (x, y, 1)) enters the cube at the
    # largest of the three entry parameters, and t is then the hit's z.
    d = np.column_stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones(len(u))]) @ pose[:3, :3]
    o = -pose[:3, :3].T @ pose[:3, 3]
    with np.errstate(divide="ignore"):
        t1, t2 = (-size / 2 - o) / d, (size / 2 - o) / d
    enter, leave = np.minimum(t1, t2).max(axis=1), np.maximum(t1, t2).min(axis=1)
    # Rays that graze the outline (in and out again within 0.1 mm) may meet the back face first
    # at the edge both faces share: those pixels are left out.
    hit = leave - enter > 1e-4
    assert hit.mean() > 0.98
    tolerance = {"rtol": 0, "atol": 3e-6} if _software_rasteriser() else {"rtol": 1e-5, "atol": 0}
    np.testing.assert_allclose(result.depth_m[v[hit], u[hit]], enter[hit], **tolerance)


@pytest.mark.parametrize("depth_scale_m", [1e-3, 1e-4, 2e-5])
def test_the_label_pass_depth_png_samples_are_its_float_depth_encoded(renderer, depth_scale_m):
    """The depth PNG's samples made by the label pass's shader (z / scale rounded half to even, 0
    past 65535, bytes swapped to big-endian) equal ``encode_depth`` of the pass's own float depth,
    whose rule tests/io/test_depth_encoding.py checks element by element. At 2e-5 m a unit the
    range ends at 1.31 m, inside the turned cube (1.2-1.5 m away): both rules of the range meet.

    Software rasterisers divide exactly, as NumPy does in float32: equal everywhere. A GPU may
    divide to within a few ulp, so elsewhere a sample may differ by 1 where the quotient is that
    close to a rounding tie."""
    rng = np.random.default_rng(7)
    K = np.array([[300.0, 0, 79.5], [0, 300.0, 59.5], [0, 0, 1]])
    pose = _translation(0.0, 0.0, 1.35)
    pose[:3, :3] = sample_rotation("uniform", rng=rng)
    result = renderer.render(single_object_scene(camera(K, W, H), "cube", 0.3, pose), depth_scale_m=depth_scale_m)
    assert result.depth_png.dtype == np.dtype(">u2") and result.depth_png.shape == (H, W)
    expected = encode_depth(result.depth_m, depth_scale_m)
    seen = result.instance_ids == 1
    assert seen.sum() > 1000 and (expected[~seen] == 0).all()
    if depth_scale_m == 2e-5:
        assert (expected[seen] == 0).any() and (expected[seen] > 0).any(), "the cube must straddle the range's end"
    if _software_rasteriser():
        np.testing.assert_array_equal(result.depth_png, expected)
        return
    quotient = result.depth_m / np.float32(depth_scale_m)
    near_tie = np.abs(quotient - np.floor(quotient) - 0.5) <= 4 * np.spacing(quotient)
    gap = np.abs(result.depth_png.astype(np.int64) - expected.astype(np.int64))
    assert not ((gap > 0) & ~near_tie).any()
    assert ((gap <= 1) | (gap == DEPTH_MAX_UNITS))[gap > 0].all()  # 1 unit, or 65535 / 0 at the range's end


def test_world_to_cam_moves_the_camera_not_the_object(renderer):
    """The same object seen through a camera pose equals the object moved by that pose."""
    K = [[150, 0, 79.5], [0, 150, 59.5], [0, 0, 1]]
    rng = np.random.default_rng(3)
    world_to_cam = _translation(0.05, -0.02, 1.2)
    world_to_cam[:3, :3] = sample_rotation("uniform", rng=rng)
    obj_to_world = _translation(0.0, 0.0, 0.0)
    a = renderer.render(single_object_scene(camera(K, W, H, world_to_cam), "cube", 0.2, obj_to_world))
    b = renderer.render(single_object_scene(camera(K, W, H), "cube", 0.2, world_to_cam @ obj_to_world))
    assert (a.instance_ids == 1).sum() > 100
    np.testing.assert_array_equal(a.instance_ids, b.instance_ids)
    np.testing.assert_allclose(a.depth_m, b.depth_m, atol=1e-4)


def test_surface_normals_face_the_camera_and_match_the_geometry(renderer):
    cam = camera([[150, 0, 79.5], [0, 150, 59.5], [0, 0, 1]], W, H)
    cube = renderer.render(single_object_scene(cam, "cube", 0.2, _translation(0, 0, 1.0)), normals=True)
    face = cube.normals[cube.instance_ids == 1]
    np.testing.assert_allclose(face, np.broadcast_to([0.0, 0.0, -1.0], face.shape), atol=1e-6)
    assert not cube.normals[cube.instance_ids == 0].any()

    centre = np.array([0.05, -0.03, 1.0])
    sphere = renderer.render(single_object_scene(cam, "sphere", 0.4, _translation(*centre)), normals=True)
    rows, cols = np.nonzero(sphere.instance_ids == 1)
    z = sphere.depth_m[rows, cols]
    points = np.column_stack([(cols - 79.5) / 150 * z, (rows - 59.5) / 150 * z, z])
    expected = (points - centre) / np.linalg.norm(points - centre, axis=1, keepdims=True)
    cosine = (expected * sphere.normals[rows, cols]).sum(axis=1)
    # The icosphere's flat facets tilt at most a few degrees from the true sphere normal.
    assert cosine.min() > np.cos(np.deg2rad(8))
