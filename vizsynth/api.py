"""The Python API: one frame for a notebook, a frame iterator for training loops, a dataset job."""

from __future__ import annotations

import os
from collections.abc import Iterator

from vizsynth.assets.images import image_pools
from vizsynth.config import DatasetConfig, load_config
from vizsynth.pipeline import Frame, FrameRenderer
from vizsynth.scene import SceneSpec, load_scene


def render_frame(config: DatasetConfig | dict | str | os.PathLike | None = None, *, seed: int, index: int) -> Frame:
    """Samples, renders and annotates frame ``index`` of dataset ``seed``.

    Opens (and closes) a GL context per call; for many frames use ``iter_frames``.

    Example:
        >>> frame = render_frame(seed=0, index=3)   # built-in default config
        >>> frame.rgb.shape, frame.annotations.objects[0].bbox_xywh
    """
    with FrameRenderer(load_config(config), seed) as frames:
        return frames.frame(index)


def iter_frames(
    config: DatasetConfig | dict | str | os.PathLike | None = None,
    *,
    seed: int,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[Frame]:
    """Yields frames start, start+1, ... (forever when ``stop`` is None) without writing files.

    Frame i equals ``render_frame(config, seed=seed, index=i)`` exactly.

    Raises:
        ConfigError, AssetError: before the first frame (every texture image and photo is decoded once).
    """
    config = load_config(config)
    image_pools(config)
    with FrameRenderer(config, seed) as frames:
        index = start
        while stop is None or index < stop:
            yield frames.frame(index)
            index += 1


def render_scene(scene: SceneSpec | str | os.PathLike) -> Frame:
    """Renders a given scene (a SceneSpec, a fixed-scene JSON file or a frame record)."""
    spec = scene if isinstance(scene, SceneSpec) else load_scene(scene)
    categories = list(dict.fromkeys(o.category for o in spec.objects if not o.distractor))
    with FrameRenderer(DatasetConfig(), seed=0, categories=categories) as frames:
        return frames.render_scene(spec)
