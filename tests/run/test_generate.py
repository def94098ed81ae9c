"""vizsynth generate: output contract, worker-count independence, crash-safe resume, failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import yaml

import vizsynth
from tests.helpers import SHARED_CONFIG, SHARED_FRAMES, SHARED_SEED
from vizsynth.cli import main
from vizsynth.errors import OutputError
from vizsynth.pipeline import FrameRenderer

pytestmark = pytest.mark.gl  # every test here renders

CONFIG = {"image": {"width": 64, "height": 48}, "objects": {"count": {"uniform": [2, 5]}}}


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root except the manifest (which records timings)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"
    }


@pytest.fixture(scope="module")
def reference(small_dataset):
    """The session's shared dataset: CONFIG, 12 frames, seed 3."""
    assert (CONFIG, 12, 3) == (SHARED_CONFIG, SHARED_FRAMES, SHARED_SEED)
    return small_dataset


def test_output_folder_contract(reference):
    files = tree_bytes(reference)
    for folder, suffix in (("images", ".jpg"), ("depth", ".png"), ("instances", ".png"), ("frames", ".json")):
        assert len([f for f in files if f.startswith(folder + "/") and f.endswith(suffix)]) == 12
    assert yaml.safe_load(files["config.yaml"])["image"] == {"width": 64, "height": 48}
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["completed"] == 12 and manifest["seed"] == 3
    coco = json.loads(files["annotations.json"])
    assert [im["frame_index"] for im in coco["images"]] == list(range(12))
    for image in coco["images"]:
        for folder, key in (("images", "file_name"), ("depth", "depth_file"), ("instances", "instances_file")):
            array = cv2.imread(str(reference / folder / image[key]), cv2.IMREAD_UNCHANGED)
            assert array.shape[:2] == (image["height"], image["width"]), (folder, image[key])
    assert [a["id"] for a in coco["annotations"]] == list(range(1, len(coco["annotations"]) + 1))


def test_two_workers_give_byte_identical_dataset(reference, tmp_path):
    out = tmp_path / "data"
    summary = vizsynth.generate(CONFIG, out, num_frames=12, seed=3, workers=2, progress=False)
    assert summary.ok
    assert tree_bytes(out) == tree_bytes(reference)


def test_record_replays_to_the_same_frame(reference, tmp_path):
    records = sorted((reference / "frames").rglob("*.json"))[:3]
    out = tmp_path / "replayed"
    assert main(["render-scene", *map(str, records), "--out", str(out), "--image-format", "jpg"]) == 0
    for i, record in enumerate(records):
        stem = record.relative_to(reference / "frames").with_suffix("")
        replay_stem = f"00000/{i:08d}"
        for folder, suffix in (("instances", ".png"), ("depth", ".png"), ("images", ".jpg")):
            original = (reference / folder / f"{stem}{suffix}").read_bytes()
            assert (out / folder / f"{replay_stem}{suffix}").read_bytes() == original, (folder, stem)


def test_killed_job_resumes_to_the_uninterrupted_result(reference, tmp_path):
    out = tmp_path / "data"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    cmd = [sys.executable, "-m", "vizsynth", "generate", str(config), "--out", str(out), "-n", "12",
           "--seed", "3", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list((out / "frames").rglob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((out / "frames").rglob("*.json")))
    assert 3 <= done < 12, "the job must be killed part-way for this test to mean anything"
    assert not (out / "annotations.json").exists()

    with pytest.raises(OutputError, match="seed 4 differs"):
        vizsynth.generate(CONFIG, out, num_frames=12, seed=4, resume=True, progress=False)
    with pytest.raises(OutputError, match="config differs"):
        vizsynth.generate({**CONFIG, "image": {"width": 32, "height": 48}}, out, num_frames=12, seed=3,
                          resume=True, progress=False)
    # What a kill can leave behind: a half-written file and a merge's temporary folder.
    (out / "images" / "00000" / ".tmp-123-00000011.jpg").write_bytes(b"half")
    (out / ".tmp-merge").mkdir()
    (out / ".tmp-merge" / "images").write_text("partial")
    assert subprocess.run([*cmd, "--resume"], capture_output=True).returncode == 0
    assert tree_bytes(out) == tree_bytes(reference)
    assert not list(out.rglob(".tmp-*"))


def test_failing_frame_is_retried_then_recorded(tmp_path, monkeypatch, capsys):
    real = FrameRenderer.render_scene
    calls = {}

    def flaky(self, spec, index=0, timings=None):
        calls[index] = calls.get(index, 0) + 1
        if index == 4 or (index == 2 and calls[index] == 1):
            raise RuntimeError(f"injected failure on frame {index}")
        return real(self, spec, index, timings)

    monkeypatch.setattr(FrameRenderer, "render_scene", flaky)
    out = tmp_path / "data"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    code = main(["generate", str(config), "--out", str(out), "-n", "6", "--seed", "3", "--no-progress"])
    assert code == 1
    assert calls[4] == 2 and calls[2] == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["completed"] == 5 and [f["index"] for f in manifest["failed"]] == [4]
    assert "injected failure on frame 4" in manifest["failed"][0]["error"]
    assert "frame 4 failed" in capsys.readouterr().err
    coco = json.loads((out / "annotations.json").read_text())
    assert [im["frame_index"] for im in coco["images"]] == [0, 1, 2, 3, 5]

    monkeypatch.setattr(FrameRenderer, "render_scene", real)
    assert main(["generate", str(config), "--out", str(out), "-n", "6", "--seed", "3", "--resume", "--no-progress"]) == 0
    coco = json.loads((out / "annotations.json").read_text())
    assert [im["frame_index"] for im in coco["images"]] == list(range(6))


def test_preview_draws_decoded_labels(reference, tmp_path):
    target = tmp_path / "preview.png"
    assert main(["preview", str(reference), "--out", str(target), "--frames", "0", "1", "--columns", "2",
                 "--scale", "1"]) == 0
    import cv2

    grid = cv2.imread(str(target))
    assert grid.shape == (48, 128, 3)
    original = cv2.imread(str(reference / "images" / "00000" / "00000000.jpg"))
    assert (grid[:, :64] != original).any(), "outlines and boxes must be drawn on the frame"
