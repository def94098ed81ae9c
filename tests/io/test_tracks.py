"""Tracks: COCO video fields (TAO / YouTube-VIS style) and MOT-Challenge gt.txt of a sequence dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools.coco import COCO

import vizsynth
from vizsynth.config import load_config
from vizsynth.errors import ConfigError
from vizsynth.io.files import record_path
from vizsynth.io.labels import check_label_formats

pytestmark = pytest.mark.gl  # renders

T, N = 3, 6
CONFIG = {
    "image": {"width": 64, "height": 48},
    "objects": {"count": 3, "placement": "flying"},
    "render": {"antialias": False},
    "sequence": {"frames_per_sequence": T, "camera_motion": "linear", "object_motion": "constant"},
    "output": {"formats": ["coco", "mot"]},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("tracks") / "out"
    assert vizsynth.generate(CONFIG, out, num_frames=N, seed=1, progress=False).ok
    return out


def test_coco_has_videos_frames_and_file_unique_track_ids(dataset):
    data = json.loads((dataset / "annotations.json").read_text())
    assert [v["id"] for v in data["videos"]] == [1, 2] and all(v["length"] == T for v in data["videos"])
    for image in data["images"]:
        index = image["frame_index"]
        assert (image["video_id"], image["frame_id"]) == (index // T + 1, index % T)
    video_of = {image["id"]: image["video_id"] for image in data["images"]}
    tracks: dict[int, set] = {}
    for ann in data["annotations"]:
        video = video_of[ann["image_id"]]
        assert ann["track_id"] == (video - 1) * 65536 + ann["vizsynth_instance_id"]
        tracks.setdefault(ann["track_id"], set()).add((video, ann["category_id"]))
    assert all(len(seen) == 1 for seen in tracks.values())  # one video and one category per track
    assert len(tracks) >= 4
    COCO(str(dataset / "annotations.json"))  # the standard reader takes it


def test_mot_gt_lists_each_visible_object_with_its_amodal_box(dataset):
    for s in range(N // T):
        folder = dataset / "mot" / f"{s:08d}"
        assert f"seqLength={T}" in (folder / "seqinfo.ini").read_text()
        rows = np.loadtxt(folder / "gt" / "gt.txt", delimiter=",", ndmin=2)
        assert rows.shape[1] == 9 and (rows[:, 6] == 1).all()
        assert np.array_equal(rows[:, 0], np.sort(rows[:, 0], kind="stable"))
        expected = []
        for t in range(T):
            record = json.loads(record_path(dataset, s * T + t).read_text())
            assert record["sequence"]["t"] == t
            for ann in record["record"]["annotations"]:
                if ann["area"] > 0:
                    expected.append([t + 1, ann["instance_id"], *ann["amodal_bbox"], 1, ann["category_id"],
                                     round(ann["visibility"], 6)])
        assert np.allclose(rows, np.array(expected))


def test_mot_without_sequences_is_refused_before_rendering():
    config = load_config({"output": {"formats": ["mot"]}})
    with pytest.raises(ConfigError, match="needs sequences"):
        check_label_formats(config, None)
