"""vizsynth: procedural synthetic datasets with labels exact to the pixel.

    >>> import vizsynth
    >>> frame = vizsynth.render_frame(seed=0, index=0)         # one frame, arrays + labels
    >>> vizsynth.generate(out_dir="out", num_frames=100)        # a dataset folder
"""

from vizsynth.api import iter_frames, render_frame, render_scene
from vizsynth.config import DatasetConfig, load_config
from vizsynth.errors import (
    AssetError,
    ConfigError,
    OutputError,
    PlacementError,
    RenderError,
    SceneError,
    VizsynthError,
)
from vizsynth.frame import Frame
from vizsynth.run import JobSummary, generate, render_scenes
from vizsynth.scene import SceneSpec, load_scene
from vizsynth.version import __version__

__all__ = [
    "AssetError", "ConfigError", "DatasetConfig", "Frame", "JobSummary", "OutputError", "PlacementError",
    "RenderError", "SceneError", "SceneSpec", "VizsynthError", "__version__", "generate", "iter_frames",
    "load_config", "load_scene", "render_frame", "render_scene", "render_scenes",
]
