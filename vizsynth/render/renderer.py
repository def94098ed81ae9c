"""The offscreen renderer: one GL context per process, meshes uploaded once, two passes a frame.

Pass 1 (colour) renders RGB with 4x multisampling (unless turned off), so edges are antialiased
like a camera's. Pass 2 (labels) renders instance ids and depth single-sampled, so every pixel is
decided at its centre exactly once: the id map, the depth map and therefore every mask, box and
area come from the same single sample per pixel.

OpenCV vs OpenGL: OpenCV puts pixel centres at integer coordinates, OpenGL at half-integers. A
point that OpenCV projects to column u lands at OpenGL window coordinate u + 0.5, so the GL camera
gets (cx + 0.5, cy + 0.5). The OpenGL camera frame is the OpenCV one turned by 180 degrees about x.
"""

from __future__ import annotations

import itertools
import math
import sys

import cv2
import numpy as np
import pyrender
import trimesh

from vizsynth.appearance.textures import make_texture, spherical_uv
from vizsynth.assets.meshes import MeshLibrary
from vizsynth.errors import ConfigError, RenderError
from vizsynth.projection import CORNER_ROWS
from vizsynth.render.atlas import pack_tiles
from vizsynth.render.context import GLContext
from vizsynth.results import RenderResult, Silhouette
from vizsynth.sampling.poses import cross3
from vizsynth.scene import CameraSpec, LightSpec, ObjectSpec, SceneSpec

# OpenCV camera frame -> OpenGL camera frame (and back): flip y and z.
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])
MAX_INSTANCES = 65535
_FLAT_SHADED = ("cube", "cylinder", "cone")


class _OrderedScene(pyrender.Scene):
    """A pyrender scene that hands its meshes and lights to the renderer in a fixed order.

    pyrender keeps nodes in sets, whose iteration order changes from process to process: lights
    are then summed in a different order (colours off by one here and there) and meshes drawn in
    a different order. Nodes come out in the order they were added, and the scene's bounds (which
    size the shadow maps) cover only the visible meshes, not the hidden ones kept for reuse.

    A removed node leaves the order too: the camera and lights are new nodes every frame, and an
    order that remembered them would keep every node ever staged alive (a long job's memory grew
    by kilobytes a frame). Positions come from a counter that never goes back, so the nodes still
    in the scene keep the same relative order as when nothing was forgotten.
    """

    def __init__(self) -> None:
        super().__init__()
        self._added: dict = {}
        self._next_position = itertools.count()
        self._at_root: set = set()  # nodes whose parent is the world: their pose is their matrix

    def add_node(self, node, parent_node=None):
        self._added[node] = next(self._next_position)
        super().add_node(node, parent_node)
        if parent_node is None:
            self._at_root.add(node)

    def remove_node(self, node):
        super().remove_node(node)
        # pyrender removes the node's children with it; forget them all.
        stack = [node]
        while stack:
            removed = stack.pop()
            self._added.pop(removed, None)
            self._at_root.discard(removed)
            stack.extend(removed.children)

    def get_pose(self, node):
        """The node's world pose. pyrender walks the node's path to the world (found again with
        networkx after any node is added or removed, as lights are every frame) and multiplies
        its matrices onto an identity; a node at the root has its own matrix as its pose."""
        if node in self._at_root:
            return node.matrix
        return super().get_pose(node)

    def _ordered(self, nodes) -> list:
        return sorted(nodes, key=self._added.__getitem__)

    @property
    def mesh_nodes(self):
        return self._ordered(self._mesh_nodes)

    @property
    def point_light_nodes(self):
        return self._ordered(self._point_light_nodes)

    @property
    def spot_light_nodes(self):
        return self._ordered(self._spot_light_nodes)

    @property
    def directional_light_nodes(self):
        return self._ordered(self._directional_light_nodes)

    @property
    def light_nodes(self):
        return self._ordered(self._point_light_nodes | self._spot_light_nodes | self._directional_light_nodes)

    @property
    def bounds(self):
        corners = [
            trimesh.transform_points(trimesh.bounds.corners(node.mesh.bounds), self.get_pose(node))
            for node in self.mesh_nodes if node.mesh.is_visible
        ]
        if not corners:
            return np.zeros((2, 3))
        corners = np.vstack(corners)
        return np.array([corners.min(axis=0), corners.max(axis=0)])


def _check_pyopengl() -> None:
    """PyOpenGL 3.1.0 (the version pyrender 0.1.45 pins) cannot upload a texture on Python >= 3.12:
    glGenTextures fails in ctypes. Say so once, before any frame, instead of failing every textured one."""
    import OpenGL

    if sys.version_info >= (3, 12) and OpenGL.__version__ == "3.1.0":
        raise RenderError(
            "PyOpenGL 3.1.0 (pinned by pyrender) fails on Python >= 3.12 as soon as a texture is uploaded; "
            "install a newer one next to it: pip install --no-deps 'PyOpenGL==3.1.9'"
        )


def _open_context(width: int, height: int, antialias: bool, shadows: bool = False) -> GLContext:
    _check_pyopengl()
    try:
        return GLContext(width, height, antialias, shadows)
    except Exception as exc:
        raise RenderError(
            f"cannot create an offscreen GL context ({type(exc).__name__}: {exc}); headless rendering "
            "needs Mesa's EGL (Debian/Ubuntu: apt install libegl1 libgl1-mesa-dri) or an NVIDIA driver"
        ) from None


def check_rendering(width: int = 8, height: int = 8) -> None:
    """Opens and closes a tiny GL context, and checks this driver can render ``width`` x ``height``.

    Raises:
        RenderError: with the install hint, when headless GL does not work here.
        ConfigError: an image side beyond the driver's largest renderbuffer.
    """
    gl = _open_context(8, 8, False)
    try:
        limit = gl.max_size
    finally:
        gl.close()
    for name, value in (("image.width", width), ("image.height", height)):
        if value > limit:
            raise ConfigError(f"config: field '{name}': must be <= {limit}, the largest image this GL driver "
                              f"renders (GL_MAX_RENDERBUFFER_SIZE) (got {value})")


class Renderer:
    """Renders SceneSpecs with pyrender offscreen. Not thread-safe: one per process.

    Use as a context manager (or call ``close``) to release the GL context.
    """

    def __init__(self, library: MeshLibrary, width: int = 640, height: int = 480, antialias: bool = True,
                 shadows: bool = False) -> None:
        """Opens the GL context.

        Args:
            library: where meshes come from (each is uploaded once, on first use).
            width, height: initial framebuffer size; scenes of other sizes are fine.
            antialias: 4x multisampled colour pass (labels are single-sample regardless).
            shadows: shadow maps for directional and spot lights in the colour pass.
        """
        self._library = library
        self._gl = _open_context(width, height, antialias, shadows)
        # One persistent scene: meshes stay in it (hidden when unused) so pyrender never deletes
        # and re-uploads their buffers between frames.
        self._scene = _OrderedScene()
        self._pool: dict[str, list[pyrender.Node]] = {}
        self._own_materials: dict[pyrender.Node, list] = {}
        self._bounds: dict[str, np.ndarray] = {}
        self._max_size = self._gl.max_size
        # The camera's node and a pool of light nodes per light type live as long as the renderer:
        # a new pyrender node costs a matrix decomposition, and adding or removing one clears
        # the scene's pose cache. Each frame sets their values and poses.
        self._camera_node: pyrender.Node | None = None
        self._light_pool: dict[str, list[pyrender.Node]] = {}
        self._frame_lights: list[pyrender.Node] = []

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases the GL context; the renderer cannot be used afterwards."""
        if self._gl is not None:
            self._gl.close()
            self._gl = None

    def _check(self, spec: SceneSpec) -> None:
        """Raises RenderError when this renderer is closed or ``spec`` holds more objects than the
        label pass's 16-bit ids can tell apart."""
        if self._gl is None:
            raise RenderError("this renderer was closed")
        if len(spec.objects) > MAX_INSTANCES:
            raise RenderError(f"a frame holds at most {MAX_INSTANCES} objects, got {len(spec.objects)}")

    @property
    def software(self) -> bool:
        """Whether this renderer's GL is a software rasteriser (the CPU draws)."""
        return self._gl.software

    def render(self, spec: SceneSpec, amodal: bool = False, normals: bool = False,
               depth_scale_m: float | None = None) -> RenderResult:
        """Renders one scene: colour pass, label pass, and when asked every object's silhouette
        (``amodal``), a surface-normal pass (``normals``) and the depth PNG's samples in units of
        ``depth_scale_m`` (``RenderResult.depth_png``).

        Raises:
            RenderError: more than 65535 objects, or the GL context is closed.
        """
        self._check(spec)
        width, height = spec.camera.width, spec.camera.height
        nodes = self._stage(spec)
        rgba = self._gl.colour(self._scene, width, height)
        # The RGBA buffer is the context's: take what is kept (one SIMD pass each) before any other pass.
        rgb = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
        alpha = None if spec.background.kind == "solid" else cv2.extractChannel(rgba, 3)
        ids, depth_m, depth_png = self._gl.labels(self._scene, {node: i for i, node in nodes.items()}, width,
                                                  height, depth_scale_m)
        silhouettes = self._silhouettes(spec, nodes) if amodal else None
        normal_map = self._gl.normals(self._scene, list(nodes.values()), width, height) if normals else None
        return RenderResult(rgb=rgb, depth_m=depth_m, instance_ids=ids, silhouettes=silhouettes, normals=normal_map,
                            alpha=alpha, depth_png=depth_png)

    # --- sequences: the passes optical flow and motion blur need ---------------------------------

    def colour(self, spec: SceneSpec) -> np.ndarray:
        """The colour pass alone (for motion blur's sub-frames): (H, W, 4) uint8 RGBA, a view of a
        buffer the GL context reuses, valid until the next colour pass (``render`` or ``colour``):
        copy or accumulate it before then.

        Raises:
            RenderError: more than 65535 objects, or the GL context is closed.
        """
        self._check(spec)
        self._stage(spec)
        return self._gl.colour(self._scene, spec.camera.width, spec.camera.height)

    def labels(self, spec: SceneSpec) -> tuple[np.ndarray, np.ndarray]:
        """The label pass alone: ((H, W) uint16 instance ids, (H, W) float32 z-depth in metres).

        The same pass as ``render``'s, without the colour pass (for a frame's neighbours).
        """
        nodes = self._stage_geometry(spec)
        ids, depth_m, _ = self._gl.labels(self._scene, {node: i for i, node in nodes.items()}, spec.camera.width,
                                          spec.camera.height)
        return ids, depth_m

    def flow(self, spec: SceneSpec, other: SceneSpec) -> np.ndarray:
        """The flow pass: ``spec``'s geometry rasterised like its label pass, each pixel carrying where
        its surface point is in ``other`` (the same objects at another time).

        Returns:
            (H, W, 4) float32: (x, y, z) in ``other``'s OpenCV camera frame, metres, and the instance
            id drawn (0 where no surface).

        Raises:
            RenderError: an object of ``spec`` is missing from ``other``, or the context is closed.
        """
        if self._gl is None:
            raise RenderError("this renderer was closed")
        moved = {o.instance_id: o for o in other.objects}
        missing = sorted({o.instance_id for o in spec.objects} - set(moved))
        if missing:
            raise RenderError(f"flow: objects {missing} of the frame are missing from the other frame")
        nodes = self._stage_geometry(spec)
        jobs = []
        for obj in spec.objects:
            o = moved[obj.instance_id]
            to_other = other.camera.world_to_cam @ o.obj_to_world @ np.diag([o.mesh_scale] * 3 + [1.0])
            jobs.append((nodes[obj.instance_id], to_other, obj.instance_id))
        return self._gl.flow(self._scene, jobs, spec.camera.width, spec.camera.height)

    def _stage_geometry(self, spec: SceneSpec) -> dict[int, pyrender.Node]:
        """Stages ``spec`` for passes that draw geometry only (labels, flow)."""
        self._check(spec)
        return self._stage(spec, materials=False)

    # --- amodal silhouettes ----------------------------------------------------------------------

    def _silhouettes(self, spec: SceneSpec, nodes: dict[int, pyrender.Node]) -> dict[int, Silhouette]:
        """Each object drawn alone into a tile just covering its projected 3D box, all tiles
        packed into one atlas: the cost is the objects' own area, not one full frame each."""
        cam = spec.camera
        labelled = [obj for obj in spec.objects if not obj.distractor]  # distractors need no amodal mask
        boxes = _tile_boxes(spec, labelled, np.stack([self._bounds[obj.asset_key] for obj in labelled])) \
            if labelled else []
        tiles = [(obj.instance_id, box) for obj, box in zip(labelled, boxes) if box is not None]
        out: dict[int, Silhouette] = {}
        atlas_width = min(self._max_size, 3 * cam.width)
        for batch, placed, atlas_height in pack_tiles(tiles, atlas_width, self._max_size):
            jobs = []
            for (instance_id, (x0, y0, w, h)), (ax, ay) in zip(batch, placed):
                projection = _gl_camera(cam, x0, y0).get_projection_matrix(w, h)
                jobs.append((nodes[instance_id], (ax, ay, w, h), projection))
            atlas = self._gl.silhouettes(self._scene, jobs, (atlas_width, atlas_height))
            for (instance_id, (x0, y0, w, h)), (ax, ay) in zip(batch, placed):
                out[instance_id] = Silhouette(x0, y0, atlas[ay:ay + h, ax:ax + w][::-1] > 0)
        return out

    # --- scene staging -----------------------------------------------------------------------

    def _stage(self, spec: SceneSpec, materials: bool = True) -> dict[int, pyrender.Node]:
        """Puts the spec's camera, lights and objects into the persistent scene (``materials``
        False: no lights and materials, for passes that draw geometry only).

        Returns:
            {instance id: the node drawing that object}.
        """
        scene = self._scene
        for node in self._frame_lights:
            scene.remove_node(node)
        self._frame_lights = []
        for nodes in self._pool.values():
            for node in nodes:
                node.mesh.is_visible = False

        solid = spec.background.kind == "solid"
        # A picture goes behind later: clear to transparent black so alpha is the coverage.
        scene.bg_color = np.array([*spec.background_rgb, 1.0]) if solid else np.zeros(4)
        scene.ambient_light = np.array(spec.ambient_rgb)
        cam_pose = np.linalg.inv(spec.camera.world_to_cam) @ CV_TO_GL
        if self._camera_node is None:
            self._camera_node = scene.add(_gl_camera(spec.camera), pose=cam_pose)
        else:
            _set_intrinsics(self._camera_node.camera, spec.camera)
            scene.set_pose(self._camera_node, cam_pose)
        used_lights: dict[str, int] = {}
        for light in spec.lights if materials else ():
            # Added in the spec's order, after removing last frame's: pyrender binds them in that order.
            k = used_lights.get(light.type, 0)
            used_lights[light.type] = k + 1
            pool = self._light_pool.setdefault(light.type, [])
            if len(pool) <= k:
                pool.append(pyrender.Node(light=_make_light(light.type)))
            node = pool[k]
            _set_light(node.light, light)
            scene.add_node(node)
            scene.set_pose(node, _light_pose(light))
            self._frame_lights.append(node)

        used: dict[str, int] = {}
        nodes = {}
        for obj in spec.objects:
            k = used.get(obj.asset_key, 0)
            used[obj.asset_key] = k + 1
            node = self._pooled_node(obj, k)
            node.mesh.is_visible = True
            if materials:
                self._apply_material(node, obj)
            pose = obj.obj_to_world @ np.diag([obj.mesh_scale] * 3 + [1.0])
            scene.set_pose(node, pose)
            nodes[obj.instance_id] = node
        return nodes

    def _pooled_node(self, obj: ObjectSpec, k: int) -> pyrender.Node:
        """The k-th pyrender node of this asset, created (and its mesh uploaded) on first need."""
        nodes = self._pool.setdefault(obj.asset_key, [])
        while len(nodes) <= k:
            geometry = self._library.get(primitive=obj.primitive, mesh=obj.mesh)
            self._bounds[obj.asset_key] = np.asarray(geometry.bounds, dtype=np.float64)
            if geometry.visual.kind is None:
                # Texture coordinates for textures on meshes that have neither UVs nor colours.
                geometry = geometry.copy()
                geometry.visual = trimesh.visual.TextureVisuals(uv=spherical_uv(geometry.vertices))
            smooth = obj.primitive not in _FLAT_SHADED
            mesh = pyrender.Mesh.from_trimesh(geometry, smooth=smooth)
            # pyrender 0.1.45 computes Mesh.bounds with np.infty, which NumPy 2 removed (shadow
            # mapping asks for it); give it the bounds up front so that code never runs.
            mesh._bounds = np.asarray(geometry.bounds, dtype=np.float64)
            for primitive in mesh.primitives:
                # Scanned meshes are often open: draw both faces so no label has holes.
                primitive.material.doubleSided = True
            node = self._scene.add(mesh, pose=np.eye(4))
            self._own_materials[node] = [p.material for p in mesh.primitives]
            nodes.append(node)
        return nodes[k]

    def _apply_material(self, node: pyrender.Node, obj: ObjectSpec) -> None:
        if obj.material is None:
            for primitive, material in zip(node.mesh.primitives, self._own_materials[node]):
                primitive.material = material
            return
        m = obj.material
        texture = None
        if m.texture is not None:
            texture = pyrender.Texture(source=make_texture(m.texture), source_channels="RGB")
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[1.0, 1.0, 1.0, 1.0] if texture else [*m.base_color, 1.0],
            baseColorTexture=texture, metallicFactor=m.metallic, roughnessFactor=m.roughness, doubleSided=True,
        )
        for primitive in node.mesh.primitives:
            primitive.material = material


def _intrinsics(cam: CameraSpec, x0: int = 0, y0: int = 0) -> dict[str, float]:
    """pyrender's intrinsics for the image region whose top-left pixel is (x0, y0) of ``cam``'s image.

    The +0.5 moves the principal point from OpenCV's pixel-centre convention to OpenGL's; the
    region shift keeps every pixel centre of the region on the image's pixel grid.
    """
    K = cam.K
    return {"fx": K[0, 0], "fy": K[1, 1], "cx": K[0, 2] - x0 + 0.5, "cy": K[1, 2] - y0 + 0.5,
            "znear": cam.znear_m, "zfar": cam.zfar_m}


def _gl_camera(cam: CameraSpec, x0: int = 0, y0: int = 0) -> pyrender.IntrinsicsCamera:
    """pyrender's camera for the image region whose top-left pixel is (x0, y0) of ``cam``'s image."""
    return pyrender.IntrinsicsCamera(**_intrinsics(cam, x0, y0))


def _set_intrinsics(camera: pyrender.IntrinsicsCamera, cam: CameraSpec) -> None:
    """Gives the reused ``camera`` the intrinsics ``_gl_camera(cam)`` would have."""
    for name, value in _intrinsics(cam).items():
        setattr(camera, name, value)


def _tile_boxes(spec: SceneSpec, objects: list[ObjectSpec], bounds: np.ndarray) -> list:
    """Per object: (x0, y0, w, h) in image pixels covering its projection, within the canvas
    [-W, 2W) x [-H, 2H), or None when it cannot reach it. ``bounds``: (N, 2, 3) mesh bounds.

    All objects' 3D box corners are projected in one go (a frame's tiles cost one set of NumPy
    calls, not one per object).
    """
    cam = spec.camera
    scales = np.array([obj.mesh_scale for obj in objects])[:, None, None]
    corners = (bounds * scales)[:, CORNER_ROWS, [0, 1, 2]]  # (N, 8, 3)
    to_cam = cam.world_to_cam @ np.stack([obj.obj_to_world for obj in objects])
    in_cam = corners @ to_cam[:, :3, :3].transpose(0, 2, 1) + to_cam[:, None, :3, 3]
    z = in_cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        uv = in_cam @ cam.K.T
        uv = uv[..., :2] / uv[..., 2:]
    unreachable = ((z <= cam.znear_m).all(axis=1) | (z >= cam.zfar_m).all(axis=1)).tolist()
    in_front = (z > cam.znear_m).all(axis=1).tolist()
    canvas = (-cam.width, -cam.height, 2 * cam.width - 1, 2 * cam.height - 1)
    boxes = []
    for i in range(len(objects)):
        if unreachable[i]:
            boxes.append(None)
            continue
        left, top, right, bottom = canvas
        if in_front[i]:
            # One pixel of margin: a pixel belongs to the silhouette when its centre is covered.
            (u0, v0), (u1, v1) = uv[i].min(axis=0).tolist(), uv[i].max(axis=0).tolist()
            left, top = max(left, math.floor(u0) - 1), max(top, math.floor(v0) - 1)
            right, bottom = min(right, math.ceil(u1) + 1), min(bottom, math.ceil(v1) + 1)
        boxes.append(None if right < left or bottom < top else (left, top, right - left + 1, bottom - top + 1))
    return boxes


_LIGHTS = {"directional": pyrender.DirectionalLight, "point": pyrender.PointLight, "spot": pyrender.SpotLight}


def _make_light(kind: str) -> pyrender.Light:
    """A light of ``kind`` for the pool; ``_set_light`` gives it a frame's values."""
    return _LIGHTS[kind]()


def _set_light(target: pyrender.Light, light: LightSpec) -> None:
    target.color = np.array(light.color)
    target.intensity = light.intensity
    if light.type == "spot":
        target.innerConeAngle = 0.0
        target.outerConeAngle = np.deg2rad(light.spot_cone_deg)


def _light_pose(light: LightSpec) -> np.ndarray:
    """pyrender lights shine along their -z axis: build a pose whose -z is ``direction``."""
    z = -np.asarray(light.direction, dtype=np.float64)
    z /= np.linalg.norm(z)
    helper = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = cross3(helper, z)
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([x, cross3(z, x), z])
    pose[:3, 3] = light.position_m
    return pose


__all__ = ["CV_TO_GL", "RenderResult", "Renderer"]
