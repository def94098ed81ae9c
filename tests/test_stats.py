"""vizsynth stats: a report against real data, with numbers that match stats.json."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest

import vizsynth
from tests.helpers import YCBV, ycbv_coco
from vizsynth.cli import main

pytestmark = pytest.mark.gl  # every test here renders

CONFIG = {"image": {"width": 96, "height": 72}, "objects": {"count": {"uniform": [2, 5]}}}


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.cells, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.cells.append(data.strip())


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("syn") / "data"
    assert vizsynth.generate(CONFIG, out, num_frames=8, seed=1, progress=False).ok
    return out


def test_compare_with_real_data_writes_report_with_finite_distances(synthetic, tmp_path, capsys):
    real = ycbv_coco(tmp_path / "ycbv.json", "depth.png")
    report = tmp_path / "report"
    assert main(["stats", str(synthetic), "--compare", str(real), "--compare-images", str(YCBV / "frames"),
                 "--out", str(report)]) == 0
    printed = capsys.readouterr().out
    result = json.loads((report / "stats.json").read_text())
    (dist,) = result["distances"]
    assert {"class_frequency_l1", "log10_box_area_wasserstein", "objects_per_image_wasserstein"} <= set(dist)
    assert all(np.isfinite(v) for v in dist.values())
    assert dist["class_frequency_l1"] == pytest.approx(2.0), "no category name is shared"
    assert result["compare"][0]["summary"]["annotations"] == 16
    # The printed table and the HTML carry the numbers of stats.json.
    for key, value in result["dataset"]["summary"].items():
        assert f"{key:>28}  {value:.6g}" in printed
    parser = _Collect()
    parser.feed((report / "report.html").read_text())
    assert parser.tags[0] == "html" and "classes.png" in parser.images
    for key, value in dist.items():
        assert key in parser.cells and f"{value:.6g}" in parser.cells
    for name in parser.images:
        image = cv2.imread(str(report / name))
        assert image is not None and image.shape[0] > 50


def test_statistics_match_the_annotations(synthetic):
    from vizsynth.stats import compute_stats

    stats = compute_stats(synthetic)
    data = json.loads((synthetic / "annotations.json").read_text())
    anns = [a for a in data["annotations"] if not a["ignore"]]
    assert stats["summary"]["annotations"] == len(anns)
    assert sum(stats["classes"].values()) == len(anns)
    assert sorted(stats["samples"]["objects_per_image"]) == sorted(
        float(sum(a["image_id"] == im["id"] for a in anns)) for im in data["images"])
    assert len(stats["samples"]["visibility"]) == len(anns)
    assert 0 < stats["summary"]["depth_min_m_mean"] <= stats["summary"]["depth_max_m_mean"] < 5


def test_preview_contact_sheet_is_a_valid_image(synthetic, tmp_path):
    out = tmp_path / "sheet.png"
    assert main(["preview", str(synthetic), "-n", "8", "--out", str(out)]) == 0
    sheet = cv2.imread(str(out))
    assert sheet.shape == (2 * 36, 4 * 48, 3)


def test_compare_warns_on_class_names_that_differ_only_in_case(synthetic, tmp_path, capsys):
    data = json.loads((synthetic / "annotations.json").read_text())
    for category in data["categories"]:
        if category["name"] == "cube":
            category["name"] = "CUBE"
    shouting = tmp_path / "shouting.json"
    shouting.write_text(json.dumps(data))
    report = tmp_path / "report"
    assert main(["stats", str(synthetic), "--compare", str(shouting), "--compare-images", str(synthetic / "images"),
                 "--out", str(report)]) == 0
    err = capsys.readouterr().err
    assert "vizsynth: warning: class 'cube'" in err and "'CUBE'" in err and "differ only in case" in err
    result = json.loads((report / "stats.json").read_text())
    assert len(result["warnings"]) == 1
    assert main(["stats", str(synthetic), "--compare", str(synthetic), "--out", str(tmp_path / "same")]) == 0
    assert "warning" not in capsys.readouterr().err
