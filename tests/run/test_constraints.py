"""Frame constraints: met by deterministic resampling, bounded, with the acceptance rate reported."""

from __future__ import annotations

import json

import pytest

import vizsynth
from tests.run.test_generate import tree_bytes
from vizsynth.cli import main

pytestmark = pytest.mark.gl  # every test here renders

CONFIG = {"image": {"width": 96, "height": 72}, "objects": {"count": {"uniform": [3, 6]}},
          "constraints": {"min_occluded_objects": 2, "min_visible_objects": 3, "min_object_pixels": 20}}


def test_every_frame_meets_the_constraints_the_same_for_any_worker_count(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    a = vizsynth.generate(CONFIG, one, num_frames=8, seed=3, workers=1, progress=False)
    b = vizsynth.generate(CONFIG, two, num_frames=8, seed=3, workers=2, progress=False)
    assert a.ok and b.ok and tree_bytes(one) == tree_bytes(two)
    assert 0 < a.acceptance_rate < 1, "the constraints must reject some scenes for this test to mean anything"
    manifest = json.loads((one / "manifest.json").read_text())
    assert manifest["last_run"]["constraint_acceptance_rate"] == round(a.acceptance_rate, 4)
    for path in (one / "frames").rglob("*.json"):
        anns = [x for x in json.loads(path.read_text())["record"]["annotations"] if x["area"] > 0]
        assert len(anns) >= 3 and all(x["area"] >= 20 for x in anns)
        assert sum(x["visibility"] < 0.9 for x in anns) >= 2


def test_impossible_constraints_fail_the_frame_naming_them(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({**CONFIG, "objects": {"count": 2}, "constraints": {"min_visible_objects": 5,
                                                                                   "max_tries": 3}}))
    out = tmp_path / "data"
    assert main(["generate", str(config), "--out", str(out), "-n", "2", "--no-progress"]) == 1
    error = json.loads((out / "manifest.json").read_text())["failed"][0]["error"]
    assert "missed the frame constraints in 3 tries" in error and "min_visible_objects 5" in error
