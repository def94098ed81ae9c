"""Frame and FrameRenderer: sample -> render -> annotate for one frame, with per-process state.

A FrameRenderer owns what is expensive to make and is reused for every frame of a process: the
mesh library (each file loaded once), the asset catalog, and the renderer's GL context (each mesh
uploaded once). Executors (local processes, Ray) each hold one and call ``frame(index)``.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from vizsynth.annotate.annotator import AssetInfo, FrameAnnotations, annotate_frame
from vizsynth.annotate.flow import FlowMaps, measure_flow, no_flow
from vizsynth.appearance.backgrounds import background_image, composite
from vizsynth.appearance.effects import apply_effects
from vizsynth.assets.catalog import load_config_assets
from vizsynth.config import ConstraintsConfig, DatasetConfig
from vizsynth.errors import PlacementError, SceneError
from vizsynth.maps import enabled_maps
from vizsynth.motion import scene_at
from vizsynth.results import Frame, RenderResult
from vizsynth.sampling.motion_sampler import start_sequence
from vizsynth.sampling.scene_sampler import sample_scene
from vizsynth.scene import MotionBlurSpec, ObjectSpec, SceneSpec


def unmet_constraints(annotations: FrameAnnotations, c: ConstraintsConfig) -> str:
    """The constraints a frame misses, in words ("" when it meets them all)."""
    visible = annotations.visible
    problems = []
    if len(visible) < c.min_visible_objects:
        problems.append(f"{len(visible)} visible objects < min_visible_objects {c.min_visible_objects}")
    if c.min_visibility > 0 and any(a.visibility < c.min_visibility for a in visible):
        problems.append(f"an object's visibility < min_visibility {c.min_visibility}")
    if any(a.area < c.min_object_pixels for a in visible):
        problems.append(f"an object has < min_object_pixels {c.min_object_pixels}")
    if c.max_object_pixels is not None and any(a.area > c.max_object_pixels for a in visible):
        problems.append(f"an object has > max_object_pixels {c.max_object_pixels}")
    occluded = sum(a.visibility is not None and a.visibility < c.occluded_below for a in visible)
    if occluded < c.min_occluded_objects:
        problems.append(f"{occluded} occluded objects < min_occluded_objects {c.min_occluded_objects}")
    return "; ".join(problems)


class FrameRenderer:
    """Renders frames of one config and seed, or given scenes. Use as a context manager."""

    def __init__(self, config: DatasetConfig, seed: int, categories: list[str] | None = None) -> None:
        """Loads (and so checks) every asset of ``config``, then opens a GL context.

        Args:
            config: the dataset config.
            seed: dataset seed.
            categories: category names in id order; defaults to the config's catalog order.
                Given scenes may name categories beyond the config's.
        """
        self.config = config
        self.seed = seed
        # Image files are decoded once up front by generate()/iter_frames, not again in every worker.
        assets = load_config_assets(config, check_images=False)
        self._library, self.catalog, self.distractor_catalog = assets.library, assets.catalog, assets.distractors
        self._images = assets.images
        self.categories = list(categories) if categories is not None else list(self.catalog.categories)
        self._category_ids = {name: i + 1 for i, name in enumerate(self.categories)}
        self._info: dict[str, AssetInfo] = {}
        self._sequence_start: SceneSpec | None = None
        from vizsynth.render import Renderer  # pyrender is imported only by who renders

        self._renderer = Renderer(self._library, config.image.width, config.image.height, config.render.antialias,
                                  config.render.shadows)

    def __enter__(self) -> "FrameRenderer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._renderer.close()

    def _asset_info(self, obj: ObjectSpec) -> AssetInfo:
        if obj.asset_key not in self._info:
            geometry = self._library.get(primitive=obj.primitive, mesh=obj.mesh)
            keypoints = self.catalog.keypoints(primitive=obj.primitive, mesh=obj.mesh)
            self._info[obj.asset_key] = AssetInfo(np.asarray(geometry.bounds, dtype=np.float64), keypoints)
        return self._info[obj.asset_key]

    def check_asset(self, obj: ObjectSpec) -> None:
        """Loads an object's geometry now (once per process), raising AssetError if it is unusable."""
        self._library.get(primitive=obj.primitive, mesh=obj.mesh)

    def scene(self, index: int, attempt: int = 0) -> SceneSpec:
        """The sampled scene of frame ``index`` (no rendering); ``attempt`` > 0: a resample.

        With sequences, frame ``index`` is frame t = index % T of sequence s = index // T: sequence
        s's scene and motion are sampled from (seed, s) alone and moved to time t.
        """
        sequence = self.config.sequence
        if not sequence.enabled:
            return sample_scene(self.config, self.catalog, seed=self.seed, index=index,
                                distractors=self.distractor_catalog, images=self._images, attempt=attempt)
        s, t = divmod(index, sequence.frames_per_sequence)
        if self._sequence_start is None or self._sequence_start.sequence.sequence != s:
            # Frames of one sequence usually come in a row: sample its start once (a pure function of s).
            scene = sample_scene(self.config, self.catalog, seed=self.seed, index=s,
                                 distractors=self.distractor_catalog, images=self._images)
            self._sequence_start = start_sequence(sequence, scene, seed=self.seed, sequence=s,
                                                  physics=self.config.objects.physics,
                                                  catalogs=(self.catalog, self.distractor_catalog))
        return scene_at(self._sequence_start, t)

    def frame(self, index: int, timings: dict | None = None) -> Frame:
        """Samples, renders and annotates frame ``index``, resampling it (deterministically) until
        it meets ``config.constraints``.

        Raises:
            PlacementError: the constraints were missed ``max_tries`` times (naming them).
        """
        constraints = self.config.constraints
        tries = constraints.max_tries if constraints.active else 1
        missed = ""
        for attempt in range(tries):
            started = time.perf_counter()
            spec = self.scene(index, attempt)
            sampled = time.perf_counter() - started
            frame = self.render_scene(spec, index, timings)
            missed = unmet_constraints(frame.annotations, constraints)
            if not missed:
                if timings is not None:
                    timings.update(sample=sampled, tries=attempt + 1)
                return frame
        raise PlacementError(f"frame {index}: missed the frame constraints in {tries} tries; last try: {missed}; "
                             "raise constraints.max_tries or loosen the constraints")

    def render(self, spec: SceneSpec) -> RenderResult:
        """Renders a scene without annotating it: RGB, depth, instance ids, and the silhouettes
        when the config asks for amodal labels. A sequence frame whose spec records motion blur gets
        its colour (and coverage) averaged over the open shutter; everything else is of time t."""
        settings = self.config.annotate
        passes = {m.render_pass for m in enabled_maps(settings)}
        # On a GPU the label pass also makes the depth PNG's samples (a third attachment: 2 bytes
        # a pixel more to read back), sparing the writer five passes over the float depth
        # (~3 ms at 1080p). On a software rasteriser that extra output and read-back cost more
        # than they spare (measured: +1.3 ms a 640x480 label pass against -0.8 ms of writing).
        depth_png_scale = None if self._renderer.software else self.config.output.depth_scale_m
        result = self._renderer.render(spec, amodal=settings.amodal, normals="normals" in passes,
                                       depth_scale_m=depth_png_scale)
        blur = spec.sequence.motion_blur if spec.sequence is not None else None
        return result if blur is None else self._motion_blurred(spec, result, blur)

    def _motion_blurred(self, spec: SceneSpec, result: RenderResult, blur: MotionBlurSpec) -> RenderResult:
        """``result`` with rgb (and alpha) the mean of the colour passes at the shutter's sub-frame
        instants (``MotionBlurSpec.offsets``); an instant at t itself reuses ``result``'s colour."""
        total = np.zeros((*result.rgb.shape[:2], 4), np.float64)
        for offset in blur.offsets():
            if offset == 0.0:
                alpha = result.alpha if result.alpha is not None else np.full(result.rgb.shape[:2], 255, np.uint8)
                total += np.dstack([result.rgb, alpha])
            else:
                total += self._renderer.colour(scene_at(spec, spec.sequence.t, subframe=offset))
        # Rounded to nearest: the mean of uint8 passes back to uint8, the same on every machine.
        mean = np.rint(total / blur.samples).astype(np.uint8)
        return replace(result, rgb=np.ascontiguousarray(mean[..., :3]),
                       alpha=None if result.alpha is None else np.ascontiguousarray(mean[..., 3]))

    def render_scene(self, spec: SceneSpec, index: int = 0, timings: dict | None = None) -> Frame:
        """Renders and annotates a given scene (fixed scene or replayed record).

        Args:
            timings: when given, receives the seconds spent in "render" and "annotate".

        Raises:
            SceneError: an object's category is not among this renderer's categories.
        """
        unknown = sorted({o.category for o in spec.objects if not o.distractor} - set(self._category_ids))
        if unknown:
            raise SceneError(
                f"scene {index}: unknown category {unknown[0]!r}; known categories: {', '.join(self.categories)}"
            )
        t0 = time.perf_counter()
        settings = self.config.annotate
        result = self.render(spec)
        t1 = time.perf_counter()
        info = {o.asset_key: self._asset_info(o) for o in spec.objects}
        annotations = annotate_frame(spec, result, self._category_ids, info, settings)
        maps = {m.name: m.compute(result, spec, self._category_ids) for m in enabled_maps(settings)}
        if timings is not None:
            timings.update(render=t1 - t0, annotate=time.perf_counter() - t1)
        rgb = result.rgb
        if result.alpha is not None:
            background = background_image(spec.background, spec.camera.width, spec.camera.height)
            rgb = composite(rgb, result.alpha, background)
        rgb = apply_effects(rgb, spec.effects)
        flow = self.flow(spec, result) if self.config.sequence.flow and spec.sequence is not None else {}
        return Frame(index, spec, rgb, result.depth_m, result.instance_ids, annotations, maps, flow, result.depth_png,
                     None if result.depth_png is None else self.config.output.depth_scale_m)

    def flow(self, spec: SceneSpec, result: RenderResult) -> dict[str, FlowMaps]:
        """Forward (t -> t+1) and backward (t -> t-1) flow of a sequence frame, from its own spec:
        the neighbours' poses follow from its recorded motion (``scene_at``), so a replayed record
        gives the same flow. Each existing neighbour costs a flow pass and a label pass (its depth,
        for the occlusion test); a missing one (past either end of the sequence) gives no valid pixel.
        """
        settings = self.config.sequence
        seq = spec.sequence
        height, width = result.depth_m.shape
        out = {}
        for direction, step in (("forward", 1), ("backward", -1)):
            t = seq.t + step
            if not 0 <= t < seq.frames:
                out[direction] = no_flow(height, width, settings.scene_flow)
                continue
            other = scene_at(spec, t)
            flow_pass = self._renderer.flow(spec, other)
            _, other_depth = self._renderer.labels(other)
            out[direction] = measure_flow(spec.camera, result.depth_m, result.instance_ids, flow_pass, other.camera,
                                          other_depth, settings.occlusion_tolerance_m, settings.scene_flow)
        return out
