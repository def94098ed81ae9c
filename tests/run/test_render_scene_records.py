"""render-scene on frame records reproduces the frames: index, categories, formats, bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vizsynth
from vizsynth.cli import main
from vizsynth.errors import SceneError
from vizsynth.validate import validate_dataset

pytestmark = pytest.mark.gl

# Defaults except what only sampling reads (the records carry the sampled camera and objects).
CONFIG = {"image": {"width": 64, "height": 48}, "objects": {"count": {"uniform": [2, 4]}}}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("records") / "data"
    assert vizsynth.generate(CONFIG, out, num_frames=4, seed=7, progress=False).ok
    return out


def _files(folder: Path, index: int) -> dict[str, bytes]:
    stem = f"{index:08d}."
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for sub in ("images", "depth", "instances", "frames") for p in (folder / sub).rglob(f"{stem}*")}


def test_render_scene_of_frame_records_gives_the_same_bytes(dataset, tmp_path, capsys):
    records = [dataset / "frames" / "00000" / f"{i:08d}.json" for i in (3, 1)]
    out = tmp_path / "again"
    assert main(["render-scene", *map(str, records), "--out", str(out)]) == 0
    for index in (3, 1):
        original, again = _files(dataset, index), _files(out, index)
        assert set(original) == set(again) and any(name.endswith(".jpg") for name in again), "jpg kept"
        for name in original:
            assert again[name] == original[name], name
    assert not (out / "images" / "00000" / "00000000.jpg").exists(), "frames keep their own index"
    coco, expected = (json.loads((f / "annotations.json").read_text()) for f in (out, dataset))
    assert coco["categories"] == expected["categories"]
    assert coco["images"] == [im for im in expected["images"] if im["frame_index"] in (1, 3)]
    assert coco["annotations"] == [
        {**a, "id": i + 1} for i, a in enumerate(a for a in expected["annotations"] if a["image_id"] in (2, 4))]
    report = validate_dataset(out)
    assert report.ok, report.format()


def test_frame_records_with_one_index_twice_are_refused_before_writing(dataset, tmp_path):
    record = dataset / "frames" / "00000" / "00000002.json"
    copy = tmp_path / "copy.json"
    copy.write_bytes(record.read_bytes())
    out = tmp_path / "out"
    with pytest.raises(SceneError, match="both frame 2"):
        vizsynth.render_scenes([record, copy], out)
    assert not out.exists()


def test_hand_made_scenes_beside_records_take_free_indices_and_new_category_ids(dataset, tmp_path):
    scene = {"camera": {"K": [[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]], "width": 64, "height": 48},
             "objects": [{"category": "box", "primitive": "cube", "mesh_scale": 0.3,
                          "obj_to_world": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1.2], [0, 0, 0, 1]]}]}
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(scene))
    out = tmp_path / "mixed"
    vizsynth.render_scenes([path, dataset / "frames" / "00000" / "00000000.json"], out)
    coco = json.loads((out / "annotations.json").read_text())
    dataset_categories = json.loads((dataset / "annotations.json").read_text())["categories"]
    assert coco["categories"][:len(dataset_categories)] == dataset_categories
    assert coco["categories"][-1]["name"] == "box" and coco["categories"][-1]["id"] == len(dataset_categories) + 1
    assert sorted(im["frame_index"] for im in coco["images"]) == [0, 1]
    assert (out / "images" / "00000" / "00000001.png").is_file(), "the hand-made scene: next free index, png"
    report = validate_dataset(out)
    assert report.ok, report.format()
