"""Renderer behaviour beyond geometry: passes agree, materials apply per instance, textures stay."""

from __future__ import annotations

import gc

import cv2
import numpy as np
import pytest
import trimesh
from PIL import Image

from tests.helpers import camera
from vizsynth import render  # its Renderer (and pyrender) loads on first use, not at collection
from vizsynth.appearance.textures import Texture
from vizsynth.assets.meshes import MeshLibrary
from vizsynth.maps import encode_depth
from vizsynth.scene import LightSpec, MaterialSpec, ObjectSpec, SceneSpec

pytestmark = pytest.mark.gl  # every test here renders

K = [[60, 0, 31.5], [0, 60, 23.5], [0, 0, 1]]


def _pose(x, z=1.0):
    pose = np.eye(4)
    pose[0, 3], pose[2, 3] = x, z
    return pose


def _scene(objects, background=(0.0, 0.0, 1.0)):
    return SceneSpec(camera=camera(K, 64, 48), objects=tuple(objects), lights=(), background_rgb=background,
                     ambient_rgb=(1.0, 1.0, 1.0))


def test_labels_do_not_depend_on_antialiasing(library):
    scene = _scene([ObjectSpec(i + 1, "cube", "cube", None, 0.25, _pose(x)) for i, x in enumerate((-0.2, 0.15))])
    with (render.Renderer(library, 64, 48, antialias=True) as smooth,
          render.Renderer(library, 64, 48, antialias=False) as sharp):
        a, b = smooth.render(scene), sharp.render(scene)
    np.testing.assert_array_equal(a.instance_ids, b.instance_ids)
    np.testing.assert_array_equal(a.depth_m, b.depth_m)
    background = b.instance_ids == 0
    # Without antialiasing every background pixel is exactly the background colour.
    assert (b.rgb[background] == [0, 0, 255]).all()
    # With it, some edge pixels blend object and background colour.
    assert (a.rgb != b.rgb).any()


@pytest.mark.parametrize("antialias", [False, True])
def test_every_pass_comes_back_top_row_first(library, antialias):
    # One cube above the image centre (OpenCV y points down): ids, depth, normals and colour must
    # all show it in the top rows, at the same pixels (up to the colour's antialiased edge).
    up = _pose(0.0)
    up[1, 3] = -0.25
    scene = _scene([ObjectSpec(3, "cube", "cube", None, 0.2, up)])
    results = {}
    with render.Renderer(library, 64, 48, antialias=antialias) as r:
        for on_gpu in (False, True):  # flipped by OpenCV after the read-back, or by a GL blit before it
            r._gl._renderer.flip_on_gpu = on_gpu
            results[on_gpu] = r.render(scene, normals=True, depth_scale_m=1e-3)
    for name in ("rgb", "instance_ids", "depth_m", "normals", "depth_png"):
        np.testing.assert_array_equal(getattr(results[False], name), getattr(results[True], name), err_msg=name)
    result = results[True]
    np.testing.assert_array_equal(result.depth_png, encode_depth(result.depth_m, 1e-3))
    rows = np.nonzero((result.instance_ids == 3).any(axis=1))[0]
    assert rows.size and rows.max() < 24  # the top half only
    np.testing.assert_array_equal(result.depth_m > 0, result.instance_ids == 3)
    np.testing.assert_array_equal(result.normals.any(axis=-1), result.instance_ids == 3)
    coloured = (result.rgb != [0, 0, 255]).any(axis=-1)
    if antialias:
        near = cv2.dilate((result.instance_ids == 3).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert coloured[result.instance_ids == 3].all() and not coloured[~near].any()
    else:
        np.testing.assert_array_equal(coloured, result.instance_ids == 3)


def test_same_asset_twice_gets_each_material(renderer):
    red = MaterialSpec((1.0, 0.0, 0.0), 0.0, 1.0)
    green = MaterialSpec((0.0, 1.0, 0.0), 0.0, 1.0)
    scene = _scene([
        ObjectSpec(1, "sphere", "sphere", None, 0.25, _pose(-0.2), red),
        ObjectSpec(2, "sphere", "sphere", None, 0.25, _pose(0.2), green),
    ])
    result = renderer.render(scene)
    left = result.rgb[result.instance_ids == 1].mean(axis=0)
    right = result.rgb[result.instance_ids == 2].mean(axis=0)
    assert left[0] > 2 * left[1] and right[1] > 2 * right[0]
    # The next frame hides unused pooled meshes: one sphere only.
    result = renderer.render(_scene([ObjectSpec(7, "sphere", "sphere", None, 0.25, _pose(0.0), red)]))
    assert set(np.unique(result.instance_ids)) == {0, 7}


def test_mesh_texture_is_kept_when_no_material_is_given(tmp_path):
    mesh = trimesh.creation.box(extents=(1, 1, 1))
    mesh = mesh.unmerge_vertices() or mesh
    uv = np.zeros((len(mesh.vertices), 2))
    texture = np.zeros((4, 4, 3), np.uint8)
    texture[..., 1] = 255  # pure green image
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv + 0.5, image=Image.fromarray(texture))
    path = tmp_path / "green_box.glb"
    mesh.export(path)
    scene = _scene([ObjectSpec(1, "box", None, str(path), 0.3, _pose(0.0))], background=(0.0, 0.0, 0.0))
    with render.Renderer(MeshLibrary(), 64, 48) as r:
        colour = r.render(scene).rgb[24, 32]
    assert colour[1] > 100 and colour[0] < 30 and colour[2] < 30


def _varied_frame(i: int) -> SceneSpec:
    """Frame i of a cycle of 6: 1 to 3 lights of every type, 1 or 2 textured objects."""
    types = ("point", "directional", "spot")
    lights = tuple(LightSpec(types[(i + k) % 3], (1.0, 1.0, 1.0), 3.0, (0.5 * k, 1.0, -1.0), (0.0, -0.5, 1.0))
                   for k in range(i % 3 + 1))
    texture = Texture(kind="checker", colors=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)), cells=4, angle_deg=0.0, seed=i)
    material = MaterialSpec((1.0, 1.0, 1.0), 0.0, 1.0, texture)
    objects = [ObjectSpec(j + 1, "cube", "cube", None, 0.2, _pose(0.25 * j - 0.1 + 0.01 * i), material)
               for j in range(i % 2 + 1)]
    return SceneSpec(camera=camera(K, 64, 48), objects=tuple(objects), lights=lights)


def _live_pyrender_objects() -> dict[str, int]:
    """How many pyrender nodes, lights, cameras, meshes and textures are alive in this process."""
    import pyrender  # only GL tests import it

    gc.collect()
    kinds = {"nodes": pyrender.Node, "lights": pyrender.light.Light, "cameras": pyrender.camera.Camera,
             "meshes": pyrender.Mesh, "textures": pyrender.Texture}
    live = dict.fromkeys(kinds, 0)
    for obj in gc.get_objects():
        for name, kind in kinds.items():
            live[name] += isinstance(obj, kind)
    return live


def test_past_frames_nodes_lights_and_textures_are_released(library):
    # A long job's memory must level off: the camera and lights are new nodes every frame and
    # textured materials new textures, so once every pooled mesh exists (the first cycle of
    # 6 frames has the most objects of any frame) nothing pyrender holds may grow with frames.
    with render.Renderer(library, 64, 48, shadows=True) as r:
        for i in range(6):
            r.render(_varied_frame(i), amodal=True, normals=True)
        warm = _live_pyrender_objects()
        held = len(r._scene._added)
        for i in range(6, 6 + 3 * 6):  # ends at the same point of the cycle as the warm-up
            r.render(_varied_frame(i), amodal=True, normals=True)
        assert _live_pyrender_objects() == warm
        # The scene's draw order remembers exactly the nodes in the scene (camera, lights, pool).
        assert len(r._scene._added) == held == len(r._scene.nodes)
