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

from dataclasses import dataclass

import numpy as np
import pyrender

from vizsynth.assets.meshes import MeshLibrary
from vizsynth.errors import RenderError
from vizsynth.render.context import GLContext
from vizsynth.scene import LightSpec, ObjectSpec, SceneSpec

# OpenCV camera frame -> OpenGL camera frame (and back): flip y and z.
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])
MAX_INSTANCES = 65535
_FLAT_SHADED = ("cube", "cylinder", "cone")


@dataclass(frozen=True)
class RenderResult:
    """The images of one render, all from the same geometry.

    Attributes:
        rgb: (H, W, 3) uint8 colour image.
        depth_m: (H, W) float32 z-depth in metres (distance to the image plane), 0 where no surface.
        instance_ids: (H, W) uint16 instance id of the surface seen at each pixel centre, 0 = background.
    """

    rgb: np.ndarray
    depth_m: np.ndarray
    instance_ids: np.ndarray


class Renderer:
    """Renders SceneSpecs with pyrender offscreen. Not thread-safe: one per process.

    Use as a context manager (or call ``close``) to release the GL context.
    """

    def __init__(self, library: MeshLibrary, width: int = 640, height: int = 480, antialias: bool = True) -> None:
        """Opens the GL context.

        Args:
            library: where meshes come from (each is uploaded once, on first use).
            width, height: initial framebuffer size; scenes of other sizes are fine.
            antialias: 4x multisampled colour pass (labels are single-sample regardless).
        """
        self._library = library
        try:
            self._gl = GLContext(width, height, antialias)
        except Exception as exc:
            raise RenderError(
                f"cannot create an offscreen GL context ({type(exc).__name__}: {exc}); headless rendering "
                "needs Mesa's EGL (Debian/Ubuntu: apt install libegl1 libgl1-mesa-dri) or an NVIDIA driver"
            ) from None
        # One persistent scene: meshes stay in it (hidden when unused) so pyrender never deletes
        # and re-uploads their buffers between frames.
        self._scene = pyrender.Scene()
        self._pool: dict[str, list[pyrender.Node]] = {}
        self._own_materials: dict[pyrender.Node, list] = {}
        self._frame_nodes: list[pyrender.Node] = []

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases the GL context; the renderer cannot be used afterwards."""
        if self._gl is not None:
            self._gl.close()
            self._gl = None

    def render(self, spec: SceneSpec) -> RenderResult:
        """Renders one scene.

        Raises:
            RenderError: more than 65535 objects, or the GL context is closed.
        """
        if self._gl is None:
            raise RenderError("this renderer was closed")
        if len(spec.objects) > MAX_INSTANCES:
            raise RenderError(f"a frame holds at most {MAX_INSTANCES} objects, got {len(spec.objects)}")
        width, height = spec.camera.width, spec.camera.height
        seg_map = self._stage(spec)
        rgb = self._gl.render(self._scene, width, height)
        id_bytes, depth_m = self._gl.render(self._scene, width, height, seg_map)
        ids = id_bytes[..., 0].astype(np.uint16) | (id_bytes[..., 1].astype(np.uint16) << 8)
        return RenderResult(rgb=np.ascontiguousarray(rgb), depth_m=depth_m, instance_ids=ids)

    # --- scene staging -----------------------------------------------------------------------

    def _stage(self, spec: SceneSpec) -> dict:
        """Puts the spec's camera, lights and objects into the persistent scene."""
        scene = self._scene
        for node in self._frame_nodes:
            scene.remove_node(node)
        self._frame_nodes = []
        for nodes in self._pool.values():
            for node in nodes:
                node.mesh.is_visible = False

        scene.bg_color = np.array([*spec.background_rgb, 1.0])
        scene.ambient_light = np.array(spec.ambient_rgb)
        cam = spec.camera
        K = cam.K
        camera = pyrender.IntrinsicsCamera(
            fx=K[0, 0], fy=K[1, 1], cx=K[0, 2] + 0.5, cy=K[1, 2] + 0.5, znear=cam.znear_m, zfar=cam.zfar_m
        )
        cam_to_world = np.linalg.inv(cam.world_to_cam)
        self._frame_nodes.append(scene.add(camera, pose=cam_to_world @ CV_TO_GL))
        for light in spec.lights:
            self._frame_nodes.append(scene.add(_make_light(light), pose=_light_pose(light)))

        used: dict[str, int] = {}
        seg_map = {}
        for obj in spec.objects:
            k = used.get(obj.asset_key, 0)
            used[obj.asset_key] = k + 1
            node = self._pooled_node(obj, k)
            node.mesh.is_visible = True
            self._apply_material(node, obj)
            pose = obj.obj_to_world @ np.diag([obj.mesh_scale] * 3 + [1.0])
            scene.set_pose(node, pose)
            seg_map[node] = (obj.instance_id & 0xFF, obj.instance_id >> 8, 0)
        return seg_map

    def _pooled_node(self, obj: ObjectSpec, k: int) -> pyrender.Node:
        """The k-th pyrender node of this asset, created (and its mesh uploaded) on first need."""
        nodes = self._pool.setdefault(obj.asset_key, [])
        while len(nodes) <= k:
            geometry = self._library.get(primitive=obj.primitive, mesh=obj.mesh)
            smooth = obj.primitive not in _FLAT_SHADED
            mesh = pyrender.Mesh.from_trimesh(geometry, smooth=smooth)
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
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[*m.base_color, 1.0], metallicFactor=m.metallic, roughnessFactor=m.roughness,
            doubleSided=True,
        )
        for primitive in node.mesh.primitives:
            primitive.material = material


def _make_light(light: LightSpec) -> pyrender.Light:
    color = np.array(light.color)
    if light.type == "directional":
        return pyrender.DirectionalLight(color=color, intensity=light.intensity)
    if light.type == "point":
        return pyrender.PointLight(color=color, intensity=light.intensity)
    return pyrender.SpotLight(
        color=color, intensity=light.intensity, innerConeAngle=0.0, outerConeAngle=np.deg2rad(light.spot_cone_deg)
    )


def _light_pose(light: LightSpec) -> np.ndarray:
    """pyrender lights shine along their -z axis: build a pose whose -z is ``direction``."""
    z = -np.asarray(light.direction, dtype=np.float64)
    z /= np.linalg.norm(z)
    helper = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([x, np.cross(z, x), z])
    pose[:3, 3] = light.position_m
    return pose


__all__ = ["CV_TO_GL", "RenderResult", "Renderer"]
