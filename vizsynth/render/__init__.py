"""Rendering executes a SceneSpec. This package is the only place that imports pyrender/OpenGL.

Headless defaults are set here, before pyrender is imported, unless the user set them already:
``PYOPENGL_PLATFORM=egl`` (GPU through EGL, or Mesa's llvmpipe on a CPU) and ``PYGLET_HEADLESS=1``
(pyglet 2 fails to import where no X libraries exist).
"""

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("PYGLET_HEADLESS", "1")

from vizsynth.render.renderer import Renderer, RenderResult, Silhouette, check_rendering  # noqa: E402

__all__ = ["RenderResult", "Renderer", "Silhouette", "check_rendering"]
