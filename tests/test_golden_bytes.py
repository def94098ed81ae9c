"""Golden bytes: a small dataset and a render-scene folder are pinned file by file (sha256).

Refactors of the scene model, effects, textures and backgrounds must not change one byte of what
vizsynth writes. Absolute paths of the bundled assets and of tmp_path are replaced by placeholders
before hashing, so the digests do not depend on where the repository is checked out. PNG files
are pinned by their decoded pixels (see ``_digests``). The pixels come from Mesa's llvmpipe: a
different GL driver may legitimately change the image digests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import vizsynth
from vizsynth.config import OutputConfig

pytestmark = pytest.mark.gl  # renders

ASSETS = Path(__file__).resolve().parents[1] / "assets"

# Effects, object textures (procedural and image), procedural and photo backgrounds, distractors
# and tabletop placement on a floor, at 64x48.
CONFIG = {
    "image": {"width": 64, "height": 48},
    "objects": {"count": 3, "placement": "tabletop", "tabletop_extent_m": [0.3, 0.3]},
    "distractors": {"count": 2},
    "material": {"texture_probability": 0.7, "textures": ["checker", "noise", "blocks", "image"],
                 "texture_folder": str(ASSETS / "textures")},
    "background": {"kind": {"choice": ["procedural", "image"]}, "image_folder": str(ASSETS / "backgrounds"),
                   "floor": True},
    "effects": {"blur_sigma_px": {"uniform": [0.0, 1.0]}, "brightness": 0.05, "contrast": 1.1,
                "saturation": 0.9, "hue_shift_deg": 5.0, "gamma": 1.2, "noise_std": 0.01,
                "poisson_photons": 500.0, "vignetting": 0.2, "motion_blur_px": 2.0, "jpeg_quality": 80},
    "output": {"formats": ["coco", "yolo"], "image_format": "png"},
}

# Re-pinned deliberately for 0.2.0: depth comes from the label pass's own shader (the surface's z at
# the pixel centre, no 24-bit depth-buffer rounding), which moves ~0.4% of depth pixels by 1 mm; the
# records carry the new version. Colour and instance maps kept their pixels.
# Re-pinned for 0.2.1: the version in the records and annotations.json only (the depth and instance
# PNGs are deflated at ISA-L level 0, see vizsynth.io.png; their pixels, which these digests pin, are unchanged).
GENERATED = {
    "annotations.json": "e6f817d83fa1fdf9eb0665a321da317131221804e061c4de1356789fd36fcbbe",
    "config.yaml": "32fdd741a335bfdf4ef25690c126b3817037ed7b364c1937be38f9fe4e6f9fd6",
    "depth/00000/00000000.png": "57c5d68e950aadedfd9b276806f1aa4a3aa1c8eb1ed888c1a2a7593efb0a990b",
    "depth/00000/00000001.png": "43bb59de0179fc564b4d6d93299e939e561850dd62665194c9df3adf9c8be3ff",
    "depth/00000/00000002.png": "db61c8da1dd79a3515a3fb4a853cb70e49eeebff0f1d59f7a88315d20c6cfe7e",
    "frames/00000/00000000.json": "60bc3925e8ef51c8505f8a7b1c2d22ee5ad1327537b4262c57ea5a0da0cfb472",
    "frames/00000/00000001.json": "82e9435254a1b4450b20167251613a1b3f0d744fc94ccc0968d1ca65fb5c2684",
    "frames/00000/00000002.json": "1f40a2a7927e5c574cd50a4fec6f376c7f262f101565498a042473138e14ae7d",
    "images/00000/00000000.png": "642d8780969048955dd92337ab50a335f8bef284fd02e9a878a0df6a4e7b28c9",
    "images/00000/00000001.png": "c5d32ea8f28a53c82e5e91000b686132cb664a10a522f9a393e4fa589e6520af",
    "images/00000/00000002.png": "0a2aa87c04445d40d9d46f47c13acc931a33c3b5e4d02b1b3ab9fbbf6e1bb468",
    "instances/00000/00000000.png": "c2ab4aa2d99aba351cbbc627465dfc923a36c82bb0aa76112dbbc7599971e6d9",
    "instances/00000/00000001.png": "813af1c7ac5ab3617aa6b2bbb2569d2cb1faa2c5941faddf1f87b36e71bfd92f",
    "instances/00000/00000002.png": "f0df1d8856f0540aa8fb9f550624e17030c05677e8788881a243b94d2b7bb29a",
    "yolo/data.yaml": "e649cd6ae96a759c48d58097c149f5225923a2f40907b27ac92ad67730ef3637",
    "yolo/images/train/00000000.png": "642d8780969048955dd92337ab50a335f8bef284fd02e9a878a0df6a4e7b28c9",
    "yolo/images/train/00000001.png": "c5d32ea8f28a53c82e5e91000b686132cb664a10a522f9a393e4fa589e6520af",
    "yolo/images/train/00000002.png": "0a2aa87c04445d40d9d46f47c13acc931a33c3b5e4d02b1b3ab9fbbf6e1bb468",
    "yolo/labels/train/00000000.txt": "800f36fc0cb45f36f621f9a4b3699e3702236881e2a5050e4c95fca8906a96d7",
    "yolo/labels/train/00000001.txt": "3d50317fb55f1b030b7d0b648edf4c563bb32f48f9e81d765fb5e72dcd7cdc57",
    "yolo/labels/train/00000002.txt": "fa81103f77dc6b6a5303fbf244a4b9c82404bb794022479fffcb8d7d1b66673b",
}

# A hand-made scene: effects given partly and out of the model's order, a photo background
# with its keys out of the model's order, a textured material, a mesh path relative to the scene file.
SCENE = {
    "camera": {"K": [[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]], "width": 64, "height": 48},
    "objects": [
        {"category": "box", "primitive": "cube", "mesh_scale": 0.3,
         "obj_to_world": [[1, 0, 0, 0.05], [0, 1, 0, 0], [0, 0, 1, 1.2], [0, 0, 0, 1]],
         "material": {"base_color": [0.8, 0.2, 0.1], "metallic": 0.1, "roughness": 0.6,
                      "texture": {"kind": "stripes", "cells": 3}}},
        {"category": "ball", "primitive": "sphere", "mesh_scale": 0.2,
         "obj_to_world": [[1, 0, 0, -0.15], [0, 1, 0, 0.05], [0, 0, 1, 1.0], [0, 0, 0, 1]]},
    ],
    "effects": {"gamma": 1.3, "brightness": 0.02, "noise_seed": 5, "noise_std": 0.02},
    "background": {"kind": "image", "flip": True, "path": "", "crop": [0.1, 0.2, 0.5, 0.5]},
}

RENDERED = {
    "annotations.json": "f09c3c926f0d030b2a63ffa5b7e5922fc742b4380851ef6f2fd5f12fb3917e4d",
    "depth/00000/00000000.png": "70ae7999c3f6f58087c409e7642c31af159a00747d6cd3fb01e8e4bfc6a303d0",
    "frames/00000/00000000.json": "da3aa8542aebec8240c393dcefd92917467d46d42898d50f7cbaad4c57551a82",
    "images/00000/00000000.png": "4307385bdb95701530c65cd816f0b1dc03b5f38654dbce8d3b2563ad903cef0e",
    "instances/00000/00000000.png": "a6150d5880a4ad25bef3ea393567d4dd7e9e882b6c283e878b0175c46c432ccd",
}


def _digests(folder: Path, placeholders: dict[str, str]) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json"):
        data = path.read_bytes()
        if path.suffix == ".png":
            # A PNG by its pixels: its compressed bytes depend on the deflate build and on the CPU
            # features ISA-L dispatches on (vizsynth.io.png), its pixels on neither.
            pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            data = f"{pixels.dtype} {pixels.shape}".encode() + pixels.tobytes()
        if path.suffix in (".json", ".yaml", ".txt"):
            for value, name in placeholders.items():
                data = data.replace(value.encode(), name.encode())
        out[path.relative_to(folder).as_posix()] = hashlib.sha256(data).hexdigest()
    return out


def test_generated_dataset_bytes_are_pinned(tmp_path):
    out = tmp_path / "out"
    assert vizsynth.generate(CONFIG, out, num_frames=3, seed=11, progress=False).ok
    assert _digests(out, {str(ASSETS): "<ASSETS>", str(tmp_path): "<TMP>"}) == GENERATED


def test_rendered_scene_bytes_are_pinned(tmp_path):
    scene = json.loads(json.dumps(SCENE))
    scene["background"]["path"] = str(ASSETS / "backgrounds" / "coffee.png")
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(scene))
    vizsynth.render_scenes([path], tmp_path / "out", output=OutputConfig(image_format="png"))
    assert _digests(tmp_path / "out", {str(ASSETS): "<ASSETS>", str(tmp_path): "<TMP>"}) == RENDERED
