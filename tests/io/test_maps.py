"""The optional per-pixel maps, through the whole job: written, decoded and checked against oracles
computed here from the written depth, instance map, K and records."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import vizsynth
from vizsynth.config import AnnotateConfig
from vizsynth.maps import MAPS

pytestmark = pytest.mark.gl

CONFIG = {"image": {"width": 64, "height": 48}, "objects": {"count": 3},
          "annotate": {"semantic_map": True, "ray_distance_map": True, "normals_map": True}}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maps") / "data"
    assert vizsynth.generate(CONFIG, out, num_frames=3, seed=2, progress=False).ok
    return out


def _read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_every_map_has_its_flag_and_folder():
    assert {m.flag for m in MAPS} <= set(AnnotateConfig.model_fields)
    assert len({m.name for m in MAPS}) == len(MAPS)


def test_written_maps_agree_with_depth_ids_and_records(dataset):
    for record_file in sorted((dataset / "frames").rglob("*.json")):
        record = json.loads(record_file.read_text())
        meta, camera = record["record"], record["camera"]
        ids = _read(dataset / "instances" / meta["instances_file"])
        depth = _read(dataset / "depth" / meta["depth_file"]).astype(np.float64) * meta["depth_scale_m"]
        # Semantic: each pixel's instance id mapped to its annotation's category id (0 elsewhere).
        lookup = np.zeros(ids.max() + 1, np.uint16)
        for ann in meta["annotations"]:
            lookup[ann["instance_id"]] = ann["category_id"]
        assert np.array_equal(_read(dataset / "semantic" / meta["semantic_file"]), lookup[ids])
        # Ray distance: z * |K^-1 [u, v, 1]|, within the 1 mm quantisation of both files.
        u, v = np.meshgrid(np.arange(ids.shape[1]), np.arange(ids.shape[0]))
        rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(np.array(camera["K"])).T
        expected = depth * np.linalg.norm(rays, axis=-1)
        ray = _read(dataset / "ray_distance" / meta["ray_distance_file"]).astype(np.float64) * meta["depth_scale_m"]
        surface = depth > 0
        assert np.array_equal(ray > 0, surface)
        assert np.abs(ray - expected)[surface].max() <= 0.002
        # Normals: unit vectors where there is a surface, facing the camera; zero elsewhere.
        encoded = _read(dataset / "normals" / meta["normals_file"])[..., ::-1].astype(np.float64)
        normals = encoded / 65535.0 * 2.0 - 1.0
        assert not encoded[~surface].any()
        assert np.abs(np.linalg.norm(normals[surface], axis=-1) - 1).max() < 1e-3
        pixels = np.stack([u, v, np.ones_like(u)], -1)[surface] @ np.linalg.inv(np.array(camera["K"])).T
        assert (np.einsum("ij,ij->i", normals[surface], pixels) < 1e-3).mean() > 0.99


def test_resume_renders_a_frame_whose_map_is_missing(dataset, tmp_path):
    import shutil

    out = tmp_path / "data"
    shutil.copytree(dataset, out)
    (out / "normals" / "00000" / "00000001.png").unlink()
    summary = vizsynth.generate(CONFIG, out, num_frames=3, seed=2, resume=True, progress=False)
    assert summary.ok and summary.rendered == 1
    assert (out / "normals" / "00000" / "00000001.png").read_bytes() == \
        (dataset / "normals" / "00000" / "00000001.png").read_bytes()
