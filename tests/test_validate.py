"""vizsynth validate: a clean dataset passes; each corruption is reported, and only it."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest

import vizsynth
from tests.helpers import YCBV, ycbv_coco
from vizsynth.cli import main
from vizsynth.validate import validate_dataset

CONFIG = {"image": {"width": 64, "height": 48}, "objects": {"count": {"uniform": [3, 5]}}}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "data"
    assert vizsynth.generate(CONFIG, out, num_frames=6, seed=4, progress=False).ok
    return out


@pytest.mark.gl
def test_clean_dataset_validates(clean, capsys):
    assert main(["validate", str(clean)]) == 0
    assert "valid" in capsys.readouterr().out
    manifest = json.loads((clean / "manifest.json").read_text())
    assert manifest["validation"]["problems"] == {}, "the generator's own cheap check ran and passed"


def _corrupt_coco(data: dict, kind: str) -> None:
    anns = data["annotations"]
    if kind == "dangling_image_id":
        anns[0]["image_id"] = 999
    elif kind == "unknown_category_id":
        anns[0]["category_id"] = 99
    elif kind == "nonpositive_bbox":
        anns[0]["bbox"][2] = -3
    elif kind == "duplicate_annotation_id":
        anns[1]["id"] = anns[0]["id"]
    elif kind == "missing_key":
        del data["categories"]
    elif kind == "bbox_mask_mismatch":
        for a in anns:
            x, y, w, h = a["bbox"]
            a["bbox"] = [x, y, x + w, y + h]
    elif kind == "image_size_mismatch":
        data["images"][0]["width"] += 10


@pytest.mark.parametrize("kind", [
    "dangling_image_id", "unknown_category_id", "nonpositive_bbox", "missing_image_file",
    "duplicate_annotation_id", "missing_key", "bbox_mask_mismatch", "image_size_mismatch",
])
@pytest.mark.gl
def test_each_corruption_is_reported_and_only_it(clean, tmp_path, capsys, kind):
    broken = tmp_path / "broken"
    shutil.copytree(clean, broken)
    if kind == "missing_image_file":
        next((broken / "images").rglob("*.jpg")).unlink()
    else:
        path = broken / "annotations.json"
        data = json.loads(path.read_text())
        _corrupt_coco(data, kind)
        path.write_text(json.dumps(data))
    report = validate_dataset(broken)
    assert set(report.counts) == {kind}, report.format()
    assert main(["validate", str(broken)]) == 1
    assert kind in capsys.readouterr().out


@pytest.mark.gl
def test_instance_map_disagreeing_with_a_mask_is_reported(clean, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(clean, broken)
    data = json.loads((broken / "annotations.json").read_text())
    image = data["images"][0]
    path = broken / "instances" / image["instances_file"]
    ids = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    ids[ids == ids.max()] = 0  # erase one object from the map (its depth stays)
    cv2.imwrite(str(path), ids)
    assert {"instance_map_mismatch", "depth_instance_mismatch"} <= set(validate_dataset(broken).counts)


def test_real_ycbv_labels_converted_to_coco_validate(tmp_path):
    path = ycbv_coco(tmp_path / "ycbv.json", "label.png")
    report = validate_dataset(path, YCBV / "frames")
    assert report.ok, report.format()
    assert report.checked == {"images": 4, "annotations": 16}
