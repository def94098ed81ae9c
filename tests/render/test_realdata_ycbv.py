"""Our render of YCB-Video's recorded scenes against its real label masks and sensor depth.

The frames and meshes in tests/data/ycbv always run; when ../shared/realdata/ycbv is present
(the full 16 frames), it runs too. Scenes go through the fixed-scene path (scene JSON -> SceneSpec).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask

from vizsynth.config import DatasetConfig
from vizsynth.pipeline import FrameRenderer
from vizsynth.scene import scene_from_dict

pytestmark = pytest.mark.gl  # every test here renders

REPO_COPY = Path(__file__).parents[1] / "data" / "ycbv"
SHARED = Path(__file__).parents[3] / "shared" / "realdata" / "ycbv"


def _mesh(root: Path, name: str) -> Path:
    ply = root / "models" / f"{name}.ply"
    return ply if ply.is_file() else root / "models" / name / "textured.obj"


def _measure(root: Path) -> tuple[list[float], list[float], list[float]]:
    ious, depth_errors, contained = [], [], []
    names = json.loads((root / "models" / "models_info.json").read_text())["classes"] if (
        root / "models" / "models_info.json").is_file() else sorted(p.stem for p in (root / "models").glob("*.ply"))
    with FrameRenderer(DatasetConfig(), seed=0, categories=names) as frames:
        for frame_dir in sorted((root / "frames").iterdir()):
            meta = json.loads((frame_dir / "meta.json").read_text())
            scene = scene_from_dict({
                "camera": {"K": meta["camera_K"], "width": 640, "height": 480},
                "objects": [
                    {"mesh": str(_mesh(root, o["name"])), "category": o["name"], "obj_to_world": o["obj_to_cam"],
                     "instance_id": o["label_value"]}
                    for o in meta["objects"]
                ],
            }, root, source=str(frame_dir))
            frame = frames.render_scene(scene)
            label = cv2.imread(str(frame_dir / "label.png"), cv2.IMREAD_UNCHANGED)
            real_depth = cv2.imread(str(frame_dir / "depth.png"), cv2.IMREAD_UNCHANGED) * meta["depth_scale_m"]
            for obj in meta["objects"]:
                ours, real = frame.instance_ids == obj["label_value"], label == obj["label_value"]
                if not real.any():
                    continue
                ious.append((ours & real).sum() / (ours | real).sum())
                amodal = next(a for a in frame.annotations.objects if a.instance_id == obj["label_value"])
                amodal_mask = coco_mask.decode(amodal.amodal_segmentation).astype(bool)
                contained.append((amodal_mask & real).sum() / real.sum())
                # Interior pixels (2 px in from the mask edge) where the sensor measured depth:
                # at object boundaries a depth sensor mixes foreground and background.
                interior = cv2.erode((ours & real).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
                valid = interior & (real_depth > 0)
                depth_errors.append(float(np.median(np.abs(frame.depth_m[valid] - real_depth[valid]))))
    return ious, depth_errors, contained


def _check(ious, depth_errors, contained, expected_objects):
    assert len(ious) == expected_objects
    assert np.median(ious) >= 0.995, f"median IoU {np.median(ious):.4f}"
    assert min(ious) >= 0.985, f"min IoU {min(ious):.4f}"
    assert max(depth_errors) <= 0.005, f"worst per-object median depth error {max(depth_errors) * 1000:.2f} mm"
    # Amodal masks hold the real visible masks (occluders only remove pixels from the visible one).
    assert min(contained) >= 0.99, f"least contained real mask: {min(contained):.4f}"


def test_repo_copy_masks_and_depth_match_reality():
    _check(*_measure(REPO_COPY), expected_objects=16)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/realdata/ycbv is not present")
def test_all_shared_frames_match_reality():
    _check(*_measure(SHARED), expected_objects=68)
