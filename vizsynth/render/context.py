"""The GL context: pyrender's EGL platform and a renderer whose read-back fits vizsynth.

pyrender's own ``OffscreenRenderer`` reads colour and window depth back after every pass and
converts depth on the CPU. vizsynth draws colour with pyrender's forward pass (its read-back step
overridden: pyrender 0.1.45, pinned in pyproject.toml) and labels with a pass of its own whose
framebuffer holds the ids as integers and the z-depth in metres as floats: read back as they are,
there is nothing left to convert on the CPU. On a GPU every pass is also copied upside down before
its read-back (GL stores the bottom row first), so the CPU makes no pass over the pixels at all.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pyrender
from OpenGL import GL
from pyrender.constants import BufFlags, ProgramFlags, RenderFlags
from pyrender.shader_program import ShaderProgram


@dataclass(frozen=True)
class _Target:
    """An offscreen framebuffer with its renderbuffers (colour attachments in order, then depth if any)."""

    framebuffer: int
    buffers: tuple
    dims: tuple[int, int]


def _delete_target(target: _Target) -> None:
    GL.glDeleteFramebuffers(1, [target.framebuffer])
    GL.glDeleteRenderbuffers(len(target.buffers), list(target.buffers))


class _UniformSetters:
    """GL's glUniform* entry points called through plain ctypes prototypes.

    PyOpenGL's wrappers convert every argument through its array handlers and check glGetError
    after each call (~9 us a matrix on the 2-core VM, against ~4 us with ``_Program.set_uniform``
    through these). These take a pointer to float32/int32/uint32 data the caller has made, as GL's
    C API does.
    """

    _VECTOR = {(n, kind): f"glUniform{n}{suffix}v" for n in (1, 2, 3, 4)
               for kind, suffix in (("f", "f"), ("i", "i"), ("u", "ui"))}
    _MATRIX = {(r, c): f"glUniformMatrix{r}fv" if r == c else f"glUniformMatrix{r}x{c}fv"
               for r in (2, 3, 4) for c in (2, 3, 4)}

    def __init__(self, library: ctypes.CDLL | None = None) -> None:
        """``library``: where to look the functions up (default: the GL library PyOpenGL loaded); a
        function it does not export is asked of EGL (eglGetProcAddress), as PyOpenGL does."""
        from OpenGL.platform import PLATFORM

        library = PLATFORM.GL if library is None else library

        def entry(name: str, restype, *argtypes):
            prototype = ctypes.CFUNCTYPE(restype, *argtypes)
            try:
                return prototype((name, library))
            except AttributeError:
                address = PLATFORM.getExtensionProcedure(name.encode())
                if not address:
                    raise RuntimeError(f"this GL has no {name}") from None
                return prototype(address)

        self.vector = {key: entry(name, None, ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
                       for key, name in self._VECTOR.items()}
        self.matrix = {key: entry(name, None, ctypes.c_int, ctypes.c_int, ctypes.c_ubyte, ctypes.c_void_p)
                       for key, name in self._MATRIX.items()}
        self.uniform1f = entry("glUniform1f", None, ctypes.c_int, ctypes.c_float)
        self.uniform1i = entry("glUniform1i", None, ctypes.c_int, ctypes.c_int32)
        self.uniform1ui = entry("glUniform1ui", None, ctypes.c_int, ctypes.c_uint32)
        self.get_error = entry("glGetError", ctypes.c_uint)


_CAST = {"f": np.float32, "i": np.int32, "u": np.uint32}


class _Program(ShaderProgram):
    """pyrender's shader program, with each uniform's location looked up once and its value sent
    through ``_UniformSetters``.

    pyrender asks GL for a uniform's location (glGetUniformLocation) on every ``set_uniform``, a
    dozen times per object and pass; a linked program's locations never change. The values reach
    GL as pyrender sends them (the same GL functions, the same float32/int32/uint32 conversions);
    like pyrender, a uniform the program lacks (or the compiler removed) is ignored, and so is a
    value GL refuses (e.g. a uniform of another type): its error is read off at once, so no later
    call sees it.
    """

    def __init__(self, *args, setters: _UniformSetters, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._setters = setters
        self._locations: dict[str, int] = {}

    def _add_to_context(self) -> None:
        self._locations = {}  # a new program object, new locations
        super()._add_to_context()

    def set_uniform(self, name, value, unsigned=False):
        location = self._locations.get(name)
        if location is None:
            location = self._locations[name] = GL.glGetUniformLocation(self._program_id, name)
        if location == -1:
            return
        gl = self._setters
        if isinstance(value, np.ndarray):
            if value.ndim == 1:
                kind = value.dtype.kind
                kind = "u" if unsigned or kind == "u" else "i" if kind == "i" else "f"
                data = np.ascontiguousarray(value, _CAST[kind])
                gl.vector[(data.shape[0], kind)](location, 1, data.ctypes.data)
            else:
                data = np.ascontiguousarray(value, np.float32)
                gl.matrix[data.shape](location, 1, GL.GL_TRUE, data.ctypes.data)
        elif isinstance(value, float):
            gl.uniform1f(location, value)
        elif isinstance(value, int):  # bool too
            (gl.uniform1ui if unsigned else gl.uniform1i)(location, int(value))
        else:
            return
        gl.get_error()  # what GL refused is ignored, as pyrender does


class _ProgramCache:
    """Shader programs by shader files and defines, each made once (pyrender's
    ``ShaderProgramCache`` interface: ``get_program`` and ``clear``), as ``_Program``."""

    def __init__(self, shader_dir: str, setters: _UniformSetters) -> None:
        self._shader_dir = shader_dir
        self._setters = setters
        self._programs: dict[tuple, _Program] = {}

    def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None) -> _Program:
        defines = defines or {}
        key = (vertex_shader, fragment_shader, geometry_shader, tuple(sorted(defines.items())))
        program = self._programs.get(key)
        if program is None:
            paths = [None if f is None else os.path.join(self._shader_dir, f)
                     for f in (vertex_shader, fragment_shader, geometry_shader)]
            program = self._programs[key] = _Program(*paths, defines=dict(defines), setters=self._setters)
        return program

    def clear(self) -> None:
        for program in self._programs.values():
            program.delete()
        self._programs.clear()


class _Pass:
    """Draws primitives in one of vizsynth's passes: binds a program only when it changes, gives
    each program the pass's shared uniforms once (uniform values are program state), then per
    draw the model matrix and the draw's own uniforms.

    Call it as ``draw(primitive, pose, name=(value, unsigned), ...)``; ``end()`` unbinds.
    ``defines``: the pass's own preprocessor defines, added to each primitive's.
    """

    def __init__(self, programs: _ProgramCache, vertex: str, fragment: str, shared: dict,
                 defines: dict | None = None) -> None:
        self._programs, self._vertex, self._fragment, self._shared = programs, vertex, fragment, shared
        self._defines = defines or {}
        self._bound = None
        self._ready: set[int] = set()

    def __call__(self, primitive, pose: np.ndarray, **uniforms) -> None:
        program = self._programs.get_program(self._vertex, self._fragment,
                                             defines={"INST_M_LOC": _instance_matrix_location(primitive),
                                                      **self._defines})
        if not program._in_context():
            program._add_to_context()
        if program is not self._bound:
            program._bind()
            self._bound = program
        if id(program) not in self._ready:
            for name, value in self._shared.items():
                program.set_uniform(name, value)
            self._ready.add(id(program))
        for name, (value, unsigned) in uniforms.items():
            program.set_uniform(name, value, unsigned)
        program.set_uniform("M", pose)
        primitive._bind()
        instances = 1 if primitive.poses is None else len(primitive.poses)
        if primitive.indices is not None:
            GL.glDrawElementsInstanced(primitive.mode, primitive.indices.size, GL.GL_UNSIGNED_INT,
                                       ctypes.c_void_p(0), instances)
        else:
            GL.glDrawArraysInstanced(primitive.mode, 0, len(primitive.positions), instances)

    def end(self) -> None:
        GL.glBindVertexArray(0)
        if self._bound is not None:
            self._bound._unbind()


@dataclass(frozen=True)
class _Read:
    """One read-back: the colour attachment it comes from, into an array of ``shape`` and ``dtype``
    (``name``: the reused buffer it goes to)."""

    name: str
    shape: tuple
    dtype: type
    gl_format: int
    gl_type: int
    attachment: int = 0


_SOFTWARE_RASTERISERS = ("llvmpipe", "softpipe", "swrast")
_ZEROS_U32, _ZEROS_F32, _ONE_F32 = np.zeros(4, np.uint32), np.zeros(4, np.float32), np.ones(1, np.float32)
_LABEL_FORMATS = (GL.GL_R16UI, GL.GL_R32F, GL.GL_R16UI)  # ids, z-depth, the depth PNG's samples


class _Renderer(pyrender.Renderer):
    """pyrender's renderer with a lean colour read-back, and vizsynth's own passes.

    Colour pass: pyrender's forward pass into its 4x multisampled framebuffer (or, with
    ``antialias`` off, a single-sample one); reads RGBA.
    Label pass (``draw_labels``): single-sample, so each pixel is decided at its centre and costs
    one sample; ids into a 16-bit integer attachment, z-depth into a float one.
    """

    def __init__(self, width: int, height: int, antialias: bool) -> None:
        super().__init__(width, height)
        self.antialias = antialias
        # "single" (colour), "labels 2" and "labels 3" (with the depth PNG's samples), "atlas", "normals",
        # "flow", and "<framebuffer> top": flipped copies
        self._targets: dict[str, _Target] = {}
        # pyrender's own shaders, and vizsynth's: programs that look each uniform's location up once.
        setters = _UniformSetters()
        self._program_cache = _ProgramCache(str(Path(pyrender.__file__).parent / "shaders"), setters)
        self._own_programs = _ProgramCache(str(Path(__file__).parent / "shaders"), setters)
        self._buffers: dict[str, np.ndarray] = {}  # read-back and work arrays, reused frame after frame
        self._max_lights: dict[int, tuple] = {}  # _compute_max_n_lights by render flags
        # Where read-backs are flipped upright (see _read_pass): on the GPU, unless GL is Mesa's
        # software rasteriser. An attribute, so both ways can be tested on any machine.
        renderer = (GL.glGetString(GL.GL_RENDERER) or b"").decode(errors="replace").lower()
        self.software = any(name in renderer for name in _SOFTWARE_RASTERISERS)
        self.flip_on_gpu = not self.software

    def _compute_max_n_lights(self, flags):
        """pyrender's per-kind light limits for ``flags``, worked out once per flags value: pyrender
        asks GL for its texture-unit count (glGetIntegerv) on every primitive of every pass, and
        a context's limits never change. A new list each call, as pyrender's callers expect."""
        limits = self._max_lights.get(flags)
        if limits is None:
            limits = self._max_lights[flags] = tuple(super()._compute_max_n_lights(flags))
        return list(limits)

    def _configure_forward_pass_viewport(self, flags):
        if self.antialias:
            return super()._configure_forward_pass_viewport(flags)
        dims = (self.viewport_width, self.viewport_height)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._target("single", dims, (GL.GL_RGBA8,), depth=True))
        GL.glViewport(0, 0, *dims)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glDepthRange(0.0, 1.0)

    def _read_main_framebuffer(self, scene, flags):
        """The colour pass's RGBA, top row first: a view of a buffer the next colour pass reuses.
        The alpha is the pass's coverage (for compositing backgrounds)."""
        width, height = self.viewport_width, self.viewport_height
        rgba = _Read("rgba", (height, width, 4), np.uint8, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        if not self.antialias:
            return self._read_pass(self._targets["single"].framebuffer, (GL.GL_RGBA8,), [rgba], keep=True)[0], None
        # Resolve the multisampled colour into pyrender's single-sample buffer, mirrored: the resolve
        # is a copy every driver makes anyway, and flips for free (llvmpipe too, measured).
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb_ms)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb)
        GL.glBlitFramebuffer(0, 0, width, height, 0, height, width, 0, GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        return self._read_into(rgba.name, rgba), None

    def _read_pass(self, source: int, color_formats: tuple[int, ...], reads: list["_Read"],
                   keep: bool = False) -> list[np.ndarray]:
        """Reads colour attachments of framebuffer ``source`` (its formats ``color_formats``), top row
        first: new arrays, or with ``keep`` views of buffers the next read of the same names reuses.

        GL stores the bottom row first. On a GPU, a blit copies each attachment upside down into a
        framebuffer of the same formats, and that is read: the GPU flips as it copies, and the CPU
        makes no pass over the pixels. A software rasteriser (llvmpipe) runs a blit as a draw, ~15x
        the cost of flipping on the CPU after the read-back (4.5 against 0.3 ms for ids and depth at
        640x480, measured), so there the rows are read as stored and flipped by OpenCV.
        """
        if not self.flip_on_gpu:
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, source)
            out = []
            for read in reads:
                GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0 + read.attachment)
                rows = self._read_into(f"{read.name} bottom up", read)
                out.append(cv2.flip(rows, 0, dst=self._scratch(read.name, read.shape, read.dtype) if keep else None))
            return out
        width, height = self.viewport_width, self.viewport_height
        target = self._target(f"{source} top", (width, height), color_formats, depth=False)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, source)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, target)
        attachments = [GL.GL_COLOR_ATTACHMENT0 + i for i in range(len(color_formats))]
        for attachment in attachments:  # a blit copies the read buffer into every draw buffer: one at a time
            GL.glReadBuffer(attachment)
            GL.glDrawBuffers(len(attachments), [a if a == attachment else GL.GL_NONE for a in attachments])
            GL.glBlitFramebuffer(0, 0, width, height, 0, height, width, 0, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, target)
        out = []
        for read in reads:
            GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0 + read.attachment)
            out.append(self._read_into(read.name if keep else None, read))
        return out

    def _scratch(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """A work array kept between frames: fresh frame-sized arrays cost page faults every frame."""
        array = self._buffers.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self._buffers[name] = np.empty(shape, dtype)
        return array

    def _read_into(self, name: str | None, read: "_Read") -> np.ndarray:
        """Reads the bound read framebuffer's read buffer, rows as stored, into the reused array
        ``name`` (valid until the next read of ``name``), or with ``name`` None into a new array."""
        array = np.empty(read.shape, read.dtype) if name is None else self._scratch(name, read.shape, read.dtype)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glReadPixels(0, 0, read.shape[1], read.shape[0], read.gl_format, read.gl_type, array=array.ctypes.data)
        return array

    def _forward_pass(self, scene, flags, seg_node_map=None):
        """pyrender 0.1.45's forward pass with its per-primitive work done once per program.

        pyrender sets the camera uniforms and every light's uniforms again for each primitive, and
        sorts the hidden pooled nodes with the visible ones. Uniform values are program state, so
        here each program gets the camera and the lights once per pass, is bound only when it
        changes, and hidden nodes are skipped before sorting (a stable sort of the visible nodes
        gives the order they had among all). Same uniforms, same draws in the same order: the same
        pixels. Shadow maps bind textures per primitive, and more lights than a program holds are
        chosen per node: those passes keep pyrender's own loop.
        """
        if flags & (RenderFlags.SHADOWS_DIRECTIONAL | RenderFlags.SHADOWS_SPOT | RenderFlags.SHADOWS_POINT) or \
                self._lights_chosen_per_node(scene, flags):
            return super()._forward_pass(scene, flags, seg_node_map)
        self._configure_forward_pass_viewport(flags)
        GL.glClearColor(*scene.bg_color)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        GL.glEnable(GL.GL_MULTISAMPLE)
        view, projection = self._get_camera_matrices(scene)
        camera_position = scene.get_pose(scene.main_camera_node)[:3, 3]
        lit = not (flags & RenderFlags.DEPTH_ONLY or flags & RenderFlags.FLAT)
        ready, current = set(), None  # programs given this pass's camera and lights; the bound one
        for node in self._sorted_visible_mesh_nodes(scene):
            for primitive in node.mesh.primitives:
                program = self._get_primitive_program(primitive, flags, ProgramFlags.USE_MATERIAL)
                if program is not current:
                    program._bind()
                    current = program
                if id(program) not in ready:
                    program.set_uniform("V", view)
                    program.set_uniform("P", projection)
                    program.set_uniform("cam_pos", camera_position)
                    if lit:
                        self._bind_lighting(scene, program, node, flags)
                    ready.add(id(program))
                self._bind_and_draw_primitive(primitive=primitive, pose=scene.get_pose(node), program=program,
                                              flags=flags)
                self._reset_active_textures()
        if current is not None:
            current._unbind()
        GL.glFlush()
        return self._read_main_framebuffer(scene, flags) if flags & RenderFlags.OFFSCREEN else None

    def _lights_chosen_per_node(self, scene, flags) -> bool:
        """Whether the scene has more lights of a kind than a program holds: pyrender then binds
        the ones nearest each node."""
        most = self._compute_max_n_lights(flags)
        counts = (len(scene.directional_light_nodes), len(scene.spot_light_nodes), len(scene.point_light_nodes))
        return any(n > m for n, m in zip(counts, most))

    def _sorted_visible_mesh_nodes(self, scene) -> list:
        """pyrender's draw order (solid, then transparent; each farthest first) of the visible nodes."""
        camera_position = scene.get_pose(scene.main_camera_node)[:3, 3]
        visible = [node for node in scene.mesh_nodes if node.mesh.is_visible]

        def farthest_first(node) -> float:
            return -np.linalg.norm(scene.get_pose(node)[:3, 3] - camera_position)

        solid = sorted((n for n in visible if not n.mesh.is_transparent), key=farthest_first)
        transparent = sorted((n for n in visible if n.mesh.is_transparent), key=farthest_first)
        return solid + transparent

    # --- vizsynth's own passes: geometry drawn with vizsynth's shaders ----------------------------

    def _begin_own_pass(self, vertex: str, fragment: str, shared: dict, defines: dict | None = None) -> "_Pass":
        """Sets the GL state vizsynth's passes share and returns the pass's program switcher.

        Both faces are drawn: vizsynth makes every material double-sided, so the colour pass draws
        both too, and an open mesh seen from inside has the same pixels in every pass.
        """
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glDisable(GL.GL_BLEND)
        GL.glPolygonMode(GL.GL_FRONT_AND_BACK, GL.GL_FILL)
        GL.glDisable(GL.GL_MULTISAMPLE)
        return _Pass(self._own_programs, vertex, fragment, shared, defines)

    def draw_labels(self, scene, ids: dict, depth_scale_m: float | None = None) \
            -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The label pass: each node of ``ids`` ({node: instance id}) drawn with its id, in
        pyrender's draw order (so depth-test ties resolve as in the colour pass).

        Args:
            depth_scale_m: when given, also the depth PNG's samples in units of it, made by the
                fragment shader in a third attachment (no pass over the frame on the CPU; on a
                software rasteriser the extra output and read-back cost more than that saves).

        Returns:
            (H, W) uint16 instance ids (0: no object) and (H, W) float32 z-depth in metres of the
            surface seen at each pixel centre (0: no surface), and with ``depth_scale_m`` (H, W)
            big-endian uint16 (dtype ``>u2``) depth in its units, rounded half to even, 0 where
            no surface or past 65535 (``vizsynth.maps.encode_depth``'s rule), else None; all new
            arrays, top row first.
        """
        width, height = self.viewport_width, self.viewport_height
        formats = _LABEL_FORMATS if depth_scale_m is not None else _LABEL_FORMATS[:2]
        target = self._target(f"labels {len(formats)}", (width, height), formats, depth=True)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, target)
        GL.glViewport(0, 0, width, height)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glDepthRange(0.0, 1.0)
        GL.glClearBufferuiv(GL.GL_COLOR, 0, _ZEROS_U32)
        GL.glClearBufferfv(GL.GL_COLOR, 1, _ZEROS_F32)
        GL.glClearBufferfv(GL.GL_DEPTH, 0, _ONE_F32)
        view, projection = self._get_camera_matrices(scene)
        shared, defines = {"V": view, "P": projection}, {}
        if depth_scale_m is not None:
            GL.glClearBufferuiv(GL.GL_COLOR, 2, _ZEROS_U32)
            shared["depth_scale_m"], defines["DEPTH_PNG"] = float(depth_scale_m), 1
        draw = self._begin_own_pass("labels.vert", "labels.frag", shared, defines)
        for node in self._sorted_visible_mesh_nodes(scene):
            if node in ids:
                pose = scene.get_pose(node)
                for primitive in node.mesh.primitives:
                    draw(primitive, pose, instance_id=(ids[node], True))
        draw.end()
        reads = [
            _Read("ids", (height, width), np.uint16, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_SHORT),
            _Read("depth", (height, width), np.float32, GL.GL_RED, GL.GL_FLOAT, attachment=1),
        ]
        if depth_scale_m is None:
            ids, depth = self._read_pass(target, formats, reads)
            return ids, depth, None
        reads.append(_Read("depth png", (height, width), np.uint16, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_SHORT,
                           attachment=2))
        ids, depth, depth_png = self._read_pass(target, formats, reads)
        # The shader swapped each sample's bytes: read as big-endian, the numbers are the units.
        return ids, depth, depth_png.view(">u2")

    def draw_silhouettes(self, scene, jobs: list, atlas_size: tuple[int, int]) -> np.ndarray:
        """Draws each job's node alone into its own tile of an atlas, in one pass and one read-back.

        Args:
            scene: the staged pyrender scene (for node poses and the camera's view matrix).
            jobs: (node, (x, y, w, h) tile in the atlas with y from the bottom, (4, 4) projection).
            atlas_size: (width, height) of the atlas area used.

        Returns:
            (height, width) uint8 atlas, rows bottom-up as GL stores them; 255 inside silhouettes.
            A view of an array the next call reuses: copy what you keep.
        """
        width, height = atlas_size
        atlas = self._target("atlas", (max(width, 256), max(height, 256)), (GL.GL_R8,), depth=False, grow_only=True)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, atlas)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glEnable(GL.GL_SCISSOR_TEST)
        GL.glScissor(0, 0, width, height)
        GL.glClearColor(0.0, 0.0, 0.0, 0.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        view, _ = self._get_camera_matrices(scene)  # each tile has its own projection
        draw = self._begin_own_pass("labels.vert", "silhouette.frag", {"V": view})
        for node, (x, y, w, h), projection in jobs:
            GL.glViewport(x, y, w, h)
            GL.glScissor(x, y, w, h)
            pose = scene.get_pose(node)
            for primitive in node.mesh.primitives:
                draw(primitive, pose, P=(projection, False))
        draw.end()
        GL.glDisable(GL.GL_SCISSOR_TEST)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, atlas)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        # The atlas's height changes from frame to frame: read into the front of one reused array.
        held = self._buffers.get("atlas")
        if held is None or held.size < width * height:
            held = self._buffers["atlas"] = np.empty(width * height, np.uint8)
        atlas_pixels = held[:width * height].reshape(height, width)
        GL.glReadPixels(0, 0, width, height, GL.GL_RED, GL.GL_UNSIGNED_BYTE, array=atlas_pixels.ctypes.data)
        return atlas_pixels

    def draw_normals(self, scene, nodes: list) -> np.ndarray:
        """(H, W, 3) float32 unit surface normals in the OpenCV camera frame (0 where no surface).

        Each pixel gets the geometric normal of the triangle seen at its centre (the same
        surface the label pass and depth come from), turned to face the camera.
        """
        target, view, projection = self._begin_float_pass("normals", scene)
        draw = self._begin_own_pass("normals.vert", "normals.frag", {"V": view, "P": projection})
        for node in nodes:
            pose = scene.get_pose(node)
            for primitive in node.mesh.primitives:
                draw(primitive, pose)
        draw.end()
        return self._read_float(target, GL.GL_RGB, 3)

    def draw_flow(self, scene, jobs: list) -> np.ndarray:
        """(H, W, 4) float32: per pixel, the position (x, y, z) in the other frame's OpenCV camera
        frame of the surface point seen at the pixel centre, and the instance id drawn there
        (0 where no surface).

        Args:
            scene: the staged pyrender scene (this frame's poses and camera).
            jobs: (node, (4, 4) mesh-units-to-other-camera matrix, instance id) per object.
        """
        target, view, projection = self._begin_float_pass("flow", scene)
        draw = self._begin_own_pass("flow.vert", "flow.frag", {"V": view, "P": projection})
        for node, other_mv, instance_id in jobs:
            pose = scene.get_pose(node)
            for primitive in node.mesh.primitives:
                draw(primitive, pose, other_MV=(other_mv, False), instance_id=(float(instance_id), False))
        draw.end()
        return self._read_float(target, GL.GL_RGBA, 4)

    def _begin_float_pass(self, name: str, scene) -> tuple[int, np.ndarray, np.ndarray]:
        """Binds and clears the viewport-sized float framebuffer ``name`` (RGBA32F and depth) for a
        depth-tested pass of vizsynth's own shaders.

        Returns:
            The framebuffer, and the camera's (4, 4) view and projection matrices.
        """
        width, height = self.viewport_width, self.viewport_height
        target = self._target(name, (width, height), (GL.GL_RGBA32F,), depth=True)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, target)
        GL.glViewport(0, 0, width, height)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glClearColor(0.0, 0.0, 0.0, 0.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        view, projection = self._get_camera_matrices(scene)
        return target, view, projection

    def _read_float(self, target: int, gl_format: int, channels: int) -> np.ndarray:
        """(H, W, channels) float32 of the RGBA32F ``target``'s colour buffer, top row first, a new array."""
        width, height = self.viewport_width, self.viewport_height
        read = _Read(f"float{channels}", (height, width, channels), np.float32, gl_format, GL.GL_FLOAT)
        return self._read_pass(target, (GL.GL_RGBA32F,), [read])[0]

    def _target(self, name: str, dims: tuple[int, int], color_formats: tuple[int, ...], depth: bool,
                grow_only: bool = False) -> int:
        """The framebuffer ``name`` (a colour renderbuffer per format, drawn to by fragment outputs
        0, 1, ... in that order, and a depth one if asked), made again when ``dims`` changes, or
        only when it grows past them with ``grow_only``."""
        current = self._targets.get(name)
        if current is not None:
            fits = all(a >= b for a, b in zip(current.dims, dims)) if grow_only else current.dims == dims
            if fits:
                return current.framebuffer
            _delete_target(current)
        colours = [GL.GL_COLOR_ATTACHMENT0 + i for i in range(len(color_formats))]
        formats = list(color_formats) + ([GL.GL_DEPTH_COMPONENT24] if depth else [])
        attachments = colours + ([GL.GL_DEPTH_ATTACHMENT] if depth else [])
        buffers = [GL.glGenRenderbuffers(1) for _ in formats]
        framebuffer = GL.glGenFramebuffers(1)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, framebuffer)
        for buffer, storage, attachment in zip(buffers, formats, attachments):
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, buffer)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, storage, *dims)
            GL.glFramebufferRenderbuffer(GL.GL_DRAW_FRAMEBUFFER, attachment, GL.GL_RENDERBUFFER, buffer)
        GL.glDrawBuffers(len(colours), colours)
        self._targets[name] = _Target(framebuffer, tuple(buffers), dims)
        return framebuffer

    def delete(self):
        for target in self._targets.values():
            _delete_target(target)
        self._targets.clear()
        self._own_programs.clear()
        super().delete()


def _instance_matrix_location(primitive) -> int:
    """The vertex attribute location pyrender gives a primitive's instance matrix: after position
    (0) and each attribute buffer the primitive has, in pyrender's fixed order."""
    flags = (BufFlags.NORMAL, BufFlags.TANGENT, BufFlags.TEXCOORD_0, BufFlags.TEXCOORD_1,
             BufFlags.COLOR_0, BufFlags.JOINTS_0, BufFlags.WEIGHTS_0)
    return 1 + sum(bool(primitive.buf_flags & f) for f in flags)


class GLContext:
    """One headless EGL context with a pyrender renderer. Not thread-safe; one per process.

    The EGL device is ``EGL_DEVICE_ID`` (default 0): on multi-GPU machines EGL numbers devices
    differently from CUDA, so pick it explicitly.
    """

    def __init__(self, width: int, height: int, antialias: bool = True, shadows: bool = False) -> None:
        from pyrender.platforms import egl

        device = egl.get_device_by_index(int(os.environ.get("EGL_DEVICE_ID", "0")))
        self._platform = egl.EGLPlatform(width, height, device=device)
        self._platform.init_context()
        self._platform.make_current()
        self._renderer = _Renderer(width, height, antialias)
        self._colour_flags = RenderFlags.OFFSCREEN
        if shadows:  # pyrender maps shadows of directional and spot lights (not point lights)
            self._colour_flags |= RenderFlags.SHADOWS_DIRECTIONAL | RenderFlags.SHADOWS_SPOT

    def colour(self, scene: pyrender.Scene, width: int, height: int) -> np.ndarray:
        """The colour pass: (H, W, 4) uint8 RGBA, a view of a buffer this context reuses (copy what
        you keep before the next colour pass)."""
        self._platform.make_current()
        self._renderer.viewport_width, self._renderer.viewport_height = width, height
        rgba, _ = self._renderer.render(scene, self._colour_flags)
        return rgba

    @property
    def software(self) -> bool:
        """Whether GL is a software rasteriser (Mesa's llvmpipe, softpipe, swrast): the CPU draws."""
        return self._renderer.software

    def labels(self, scene: pyrender.Scene, ids: dict, width: int, height: int,
               depth_scale_m: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """See ``_Renderer.draw_labels``."""
        self._platform.make_current()
        self._renderer.viewport_width, self._renderer.viewport_height = width, height
        return self._renderer.draw_labels(scene, ids, depth_scale_m)

    def normals(self, scene: pyrender.Scene, nodes: list, width: int, height: int) -> np.ndarray:
        """See ``_Renderer.draw_normals``."""
        self._platform.make_current()
        self._renderer.viewport_width, self._renderer.viewport_height = width, height
        return self._renderer.draw_normals(scene, nodes)

    def flow(self, scene: pyrender.Scene, jobs: list, width: int, height: int) -> np.ndarray:
        """See ``_Renderer.draw_flow``."""
        self._platform.make_current()
        self._renderer.viewport_width, self._renderer.viewport_height = width, height
        return self._renderer.draw_flow(scene, jobs)

    def silhouettes(self, scene: pyrender.Scene, jobs: list, atlas_size: tuple[int, int]) -> np.ndarray:
        """See ``_Renderer.draw_silhouettes``."""
        self._platform.make_current()
        return self._renderer.draw_silhouettes(scene, jobs, atlas_size)

    @property
    def max_size(self) -> int:
        """The largest renderbuffer side this GL implementation allows."""
        self._platform.make_current()
        return int(GL.glGetIntegerv(GL.GL_MAX_RENDERBUFFER_SIZE))

    def close(self) -> None:
        """Frees this context's GL objects and the context itself.

        pyrender's ``delete_context`` would also ``eglTerminate`` the display, which EGL shares
        between all contexts of a process on one device, breaking every other open context.
        """
        from OpenGL import EGL

        self._platform.make_current()
        self._renderer.delete()
        display, context = self._platform._egl_display, self._platform._egl_context
        EGL.eglMakeCurrent(display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
        EGL.eglDestroyContext(display, context)
