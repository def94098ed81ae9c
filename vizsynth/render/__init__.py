"""Rendering executes a SceneSpec. This package is the only place that imports pyrender/OpenGL.

Importing the package itself loads no GL: ``Renderer`` is resolved (and pyrender imported) on
first use, so job planning, annotation and writers stay GL-free. Headless defaults are set here,
before pyrender is imported, unless the user set them already: ``PYOPENGL_PLATFORM=egl`` (GPU
through EGL, or Mesa's llvmpipe on a CPU) and ``PYGLET_HEADLESS=1`` (pyglet 2 fails to import
where no X libraries exist).
"""

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("PYGLET_HEADLESS", "1")

from vizsynth.results import RenderResult, Silhouette  # noqa: E402

__all__ = ["RenderResult", "Renderer", "Silhouette", "check_rendering"]


def check_rendering(width: int = 8, height: int = 8) -> None:
    """Opens and closes a tiny GL context (importing pyrender now); checks the image size fits.

    Raises:
        RenderError: with the install hint, when headless GL does not work here.
        ConfigError: an image side beyond the driver's largest renderbuffer.
    """
    from vizsynth.render.renderer import check_rendering as check

    check(width, height)


def __getattr__(name: str):
    if name == "Renderer":
        from vizsynth.render.renderer import Renderer

        globals()["Renderer"] = Renderer  # later look-ups skip this hook
        return Renderer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
