"""vizsynth: procedural synthetic datasets with labels exact to the pixel.

    >>> import vizsynth
    >>> frame = vizsynth.render_frame(seed=0, index=0)         # one frame, arrays + labels
    >>> vizsynth.generate(out_dir="out", num_frames=100)        # a dataset folder

The public names below are imported on first use (PEP 562), so ``import vizsynth`` and the
GL-free stages (config, sampling, annotation, writers, validation) load no pyrender/OpenGL;
only rendering does.
"""

from vizsynth.errors import (
    AssetError,
    ConfigError,
    OutputError,
    PlacementError,
    RenderError,
    SceneError,
    VizsynthError,
)
from vizsynth.version import __version__

# public name -> the module that defines it
_LAZY = {
    "DatasetConfig": "vizsynth.config",
    "Frame": "vizsynth.results",
    "JobSummary": "vizsynth.run",
    "SceneSpec": "vizsynth.scene",
    "generate": "vizsynth.run",
    "iter_frames": "vizsynth.api",
    "load_config": "vizsynth.config",
    "load_scene": "vizsynth.scene",
    "render_frame": "vizsynth.api",
    "render_scene": "vizsynth.api",
    "render_scenes": "vizsynth.run",
}

__all__ = [
    "AssetError", "ConfigError", "DatasetConfig", "Frame", "JobSummary", "OutputError", "PlacementError",
    "RenderError", "SceneError", "SceneSpec", "VizsynthError", "__version__", "generate", "iter_frames",
    "load_config", "load_scene", "render_frame", "render_scene", "render_scenes",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
