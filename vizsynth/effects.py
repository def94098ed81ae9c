"""Sensor effects: applied to the rendered RGB after rendering; labels, depth and ids untouched.

Deciding (``sample_effects``, from the frame's "effects" stream) is separate from applying
(``apply_effects``, deterministic): the decided values, including the seed of the pixel noise,
are recorded in the SceneSpec, so a replayed frame gets the very same pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from vizsynth.config import EffectsConfig

# Order of application, like a camera pipeline: optics, sensor, processing, compression.
ORDER = ("blur_sigma_px", "motion_blur_px", "vignetting", "brightness", "contrast", "saturation",
         "hue_shift_deg", "gamma", "noise_std", "poisson_photons", "jpeg_quality")
_IDENTITY = {"blur_sigma_px": 0.0, "motion_blur_px": 0.0, "vignetting": 0.0, "brightness": 0.0, "contrast": 1.0,
             "saturation": 1.0, "hue_shift_deg": 0.0, "gamma": 1.0, "noise_std": 0.0, "poisson_photons": 0.0,
             "jpeg_quality": 100.0}


def sample_effects(config: EffectsConfig, *, rng: np.random.Generator) -> dict:
    """Draws every effect's value (in ORDER), the motion-blur angle and the noise seed."""
    values = {name: float(getattr(config, name).sample(rng=rng)) for name in ORDER}
    values["motion_blur_angle_deg"] = float(rng.uniform(0.0, 180.0))
    values["noise_seed"] = int(rng.integers(0, 2**31 - 1))
    return values


def is_identity(effects: dict) -> bool:
    return all(effects.get(name, value) == value for name, value in _IDENTITY.items())


def apply_effects(rgb: np.ndarray, effects: dict) -> np.ndarray:
    """(H, W, 3) uint8 RGB with the recorded effects applied (a new array)."""
    if not effects or is_identity(effects):
        return rgb
    image = rgb.astype(np.float32) / 255.0
    height, width = image.shape[:2]
    if effects["blur_sigma_px"] > 0:
        image = cv2.GaussianBlur(image, (0, 0), effects["blur_sigma_px"])
    if effects["motion_blur_px"] >= 1:
        length = int(round(effects["motion_blur_px"]))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), effects["motion_blur_angle_deg"], 1.0)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        image = cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    if effects["vignetting"] > 0:
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        r2 = ((x - (width - 1) / 2) ** 2 + (y - (height - 1) / 2) ** 2) / ((width / 2) ** 2 + (height / 2) ** 2)
        image *= (1.0 - effects["vignetting"] * r2)[..., None]
    image = image + effects["brightness"]
    image = (image - image.mean()) * effects["contrast"] + image.mean()
    if effects["saturation"] != 1.0 or effects["hue_shift_deg"] != 0.0:
        hsv = cv2.cvtColor(np.clip(image, 0, 1), cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0] + effects["hue_shift_deg"]) % 360.0
        hsv[..., 1] = np.clip(hsv[..., 1] * effects["saturation"], 0, 1)
        image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    image = np.clip(image, 0, 1) ** (1.0 / effects["gamma"])
    noise_rng = np.random.default_rng(int(effects["noise_seed"]))
    if effects["poisson_photons"] > 0:
        photons = effects["poisson_photons"]
        image = noise_rng.poisson(image * photons).astype(np.float32) / photons
    if effects["noise_std"] > 0:
        image = image + noise_rng.normal(0.0, effects["noise_std"], image.shape).astype(np.float32)
    out = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    if effects["jpeg_quality"] < 100:
        ok, data = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(effects["jpeg_quality"])])
        out = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out)
