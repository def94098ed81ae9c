"""Sensor effects: applied to the rendered RGB after rendering; labels, depth and ids untouched.

Each effect is one ``Effect`` in ``EFFECTS``: its name (the config field and the record key), the
value that leaves the image unchanged, its bounds, and how it is applied. The config section
(``config.EffectsConfig``) and the recorded values (``Effects``) are both made from this list, so
adding an effect means adding one entry here (and its test).

Deciding (``sample_effects``, from the frame's "effects" stream) is separate from applying
(``apply_effects``, deterministic): the decided values, including the seed of the pixel noise,
are recorded in the SceneSpec, so a replayed frame gets the very same pixels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import cv2
import numpy as np
from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

if TYPE_CHECKING:
    from vizsynth.config import EffectsConfig

# (H, W, 3) float32 image in [0, 1] (values may leave it between steps), the frame's recorded
# effects, and the one generator of all pixel noise (seeded by ``Effects.noise_seed``).
Apply = Callable[[np.ndarray, "Effects", np.random.Generator], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Effect:
    """One sensor effect.

    Attributes:
        name: config field and record key.
        identity: the value that changes nothing (the config default).
        bounds: pydantic bounds of a value (``ge``, ``gt``, ``le``, ``lt``), in the config and in scene files.
        description: for the config schema.
        apply: the effect at the frame's value; must return the image unchanged at ``identity``.
        rank: position in the application order (a camera pipeline: optics, tone, noise, compression),
            which differs from the order of drawing and recording (the order of ``EFFECTS``).
        soft: the config accepts an unclipped normal whose mean ± 6 std is within ``bounds``;
            scene files then take any value.
        extras: values drawn for this effect that are not configured, as (name, draw, default);
            drawn after every effect's value, recorded right after this effect's value.
    """

    name: str
    identity: float
    bounds: dict[str, float]
    description: str
    apply: Apply
    rank: int
    soft: bool = False
    extras: tuple[tuple[str, Callable[[np.random.Generator], float], float], ...] = ()


def _blur(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), e.blur_sigma_px) if e.blur_sigma_px > 0 else image


def _motion_blur(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    if e.motion_blur_px < 1:
        return image
    length = int(round(e.motion_blur_px))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), e.motion_blur_angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def _vignetting(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    if e.vignetting <= 0:
        return image
    height, width = image.shape[:2]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((x - (width - 1) / 2) ** 2 + (y - (height - 1) / 2) ** 2) / ((width / 2) ** 2 + (height / 2) ** 2)
    return image * (1.0 - e.vignetting * r2)[..., None]


def _brightness(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    return image + e.brightness


def _contrast(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    return (image - image.mean()) * e.contrast + image.mean()


def _saturation_and_hue(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    # One HSV round trip for both effects: converting twice would change the pixels.
    if e.saturation == 1.0 and e.hue_shift_deg == 0.0:
        return image
    hsv = cv2.cvtColor(np.clip(image, 0, 1), cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0] + e.hue_shift_deg) % 360.0
    hsv[..., 1] = np.clip(hsv[..., 1] * e.saturation, 0, 1)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _applied_with_saturation(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    return image


def _gamma(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    # Always clips, also at gamma 1: the noise below is added to the clipped image.
    return np.clip(image, 0, 1) ** (1.0 / e.gamma)


def _shot_noise(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    if e.poisson_photons <= 0:
        return image
    return rng.poisson(image * e.poisson_photons).astype(np.float32) / e.poisson_photons


def _gaussian_noise(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    if e.noise_std <= 0:
        return image
    return image + rng.normal(0.0, e.noise_std, image.shape).astype(np.float32)


def _jpeg(image: np.ndarray, e: Effects, rng: np.random.Generator) -> np.ndarray:
    if e.jpeg_quality >= 100:
        return image
    ok, data = cv2.imencode(".jpg", to_uint8(image)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(e.jpeg_quality)])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0


def _angle(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.0, 180.0))


MAX_ANGLE_DEG = 3600.0  # angles that wrap around (ten turns), as config.MAX_ANGLE_DEG

# In the order of drawing, of the config section and of the record.
EFFECTS = (
    Effect("blur_sigma_px", 0.0, {"ge": 0, "le": 100}, "Gaussian blur sigma, 0..100", _blur, 0),
    Effect("motion_blur_px", 0.0, {"ge": 0, "le": 500}, "motion blur length, random angle, 0..500", _motion_blur, 1,
           extras=(("motion_blur_angle_deg", _angle, 0.0),)),
    Effect("vignetting", 0.0, {"ge": 0, "le": 1}, "corner darkening, 0..1", _vignetting, 2),
    Effect("brightness", 0.0, {"ge": -1, "le": 1}, "added to [0, 1] values", _brightness, 3),
    Effect("contrast", 1.0, {"ge": 0, "le": 100}, "scale around the mean, 0..100", _contrast, 4),
    Effect("saturation", 1.0, {"ge": 0, "le": 100}, "HSV saturation factor, 0..100", _saturation_and_hue, 5),
    Effect("hue_shift_deg", 0.0, {"ge": -MAX_ANGLE_DEG, "le": MAX_ANGLE_DEG}, "HSV hue rotation, within ±3600",
           _applied_with_saturation, 6, soft=True),
    Effect("gamma", 1.0, {"gt": 0, "le": 100}, "out = in ** (1 / gamma), (0, 100]", _gamma, 7),
    Effect("noise_std", 0.0, {"ge": 0, "le": 1}, "Gaussian noise std, [0, 1] units, 0..1", _gaussian_noise, 9),
    Effect("poisson_photons", 0.0, {"ge": 0, "le": 1e9}, "shot noise: photons at full scale (0 = off), 0..1e9",
           _shot_noise, 8),
    Effect("jpeg_quality", 100.0, {"ge": 1, "le": 100}, "JPEG artefacts (100 = none)", _jpeg, 10),
)
_APPLY_ORDER = tuple(sorted(EFFECTS, key=lambda effect: effect.rank))


def _record_fields() -> list[tuple[str, Any, Any]]:
    fields: list[tuple[str, Any, Any]] = []
    for effect in EFFECTS:
        bounds = {} if effect.soft else effect.bounds
        fields.append((effect.name, Annotated[float, Field(**bounds)], dataclasses.field(default=effect.identity)))
        fields += [(name, float, dataclasses.field(default=default)) for name, _, default in effect.extras]
    fields.append(("noise_seed", Annotated[int, Field(ge=0)], dataclasses.field(default=0)))
    fields.append(("given_keys", tuple[str, ...], dataclasses.field(default=(), init=False, compare=False, repr=False)))
    return fields


def _keep_given_keys(cls: type, data: Any, handler: Callable[[Any], Any]) -> Any:
    """Validates a record's values and remembers the order its keys were given in."""
    value = handler(data)
    if isinstance(data, dict):
        object.__setattr__(value, "given_keys", tuple(data))
    return value


def _given_keys_first(self: Any, handler: SerializerFunctionWrapHandler) -> dict:
    """The record: the keys given first, in their order, then the others in field order, so that a
    replayed record is written back byte-identical."""
    values = handler(self)
    del values["given_keys"]
    return {k: values[k] for k in self.given_keys} | {k: v for k, v in values.items() if k not in self.given_keys}


Effects = dataclasses.make_dataclass(
    "Effects", _record_fields(), frozen=True,
    namespace={
        "__doc__": "The decided effect values of one frame (one field per effect, its extras, and "
                   "``noise_seed``, the seed of all pixel noise). ``given_keys``: the order the values "
                   "were given in, kept for the record.",
        "__module__": __name__,
        "__pydantic_config__": ConfigDict(extra="forbid"),
        "_keep_given_keys": model_validator(mode="wrap")(classmethod(_keep_given_keys)),
        "_given_keys_first": model_serializer(mode="wrap")(_given_keys_first),
    },
)


def sample_effects(config: EffectsConfig, *, rng: np.random.Generator) -> Effects | None:
    """Draws every effect's value (in ``EFFECTS`` order), then their extras, then the noise seed.

    Returns:
        The values, or None when they change nothing.
    """
    values = {effect.name: float(getattr(config, effect.name).sample(rng=rng)) for effect in EFFECTS}
    for effect in EFFECTS:
        values |= {name: draw(rng) for name, draw, _ in effect.extras}
    values["noise_seed"] = int(rng.integers(0, 2**31 - 1))
    effects = Effects(**values)
    object.__setattr__(effects, "given_keys", tuple(values))  # recorded in the order drawn
    return None if is_identity(effects) else effects


def is_identity(effects: Effects | None) -> bool:
    """Whether ``effects`` leave every image unchanged."""
    return effects is None or all(getattr(effects, effect.name) == effect.identity for effect in EFFECTS)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float image in [0, 1] -> uint8, rounded to nearest, clipped."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def apply_effects(rgb: np.ndarray, effects: Effects | None) -> np.ndarray:
    """(H, W, 3) uint8 RGB with the recorded effects applied (a new array; ``rgb`` itself when none)."""
    if is_identity(effects):
        return rgb
    image = rgb.astype(np.float32) / 255.0
    noise_rng = np.random.default_rng(int(effects.noise_seed))
    for effect in _APPLY_ORDER:
        image = effect.apply(image, effects, noise_rng)
    return np.ascontiguousarray(to_uint8(image))
