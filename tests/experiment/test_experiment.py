"""A tiny, easy experiment on CPU: training learns, two variants run end to end, a kill resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch", reason="experiments need the train extra: pip install 'vizsynth[train]'")
pytest.importorskip("torchvision", reason="experiments need the train extra: pip install 'vizsynth[train]'")

from vizsynth.errors import ConfigError, OutputError  # noqa: E402
from vizsynth.experiment import load_experiment, run_experiment  # noqa: E402

# Large spheres and cubes (a third of the frame), 1-2 per 96x72 frame, plain colours: easy to learn fast.
EASY_BASE = [
    "image.width=96", "image.height=72", "objects.assets=[{primitive: sphere}, {primitive: cube}]",
    "objects.count={uniform: [1, 2]}", "objects.placement=flying", "objects.flying_depth_m={uniform: [0.8, 1.0]}",
    "objects.primitive_size_m={uniform: [0.3, 0.4]}", "annotate.amodal=false", "render.antialias=false",
]
TINY_TRAIN = {"model": "fasterrcnn_tiny", "batch_size": 4, "min_size": 96, "max_size": 128, "lr": 0.02,
              "roi_samples_per_image": 64, "rpn_proposals_train": 300, "device": "cpu"}


def write_experiment(path: Path, variants: list[dict], frames: int, val: int, **train) -> Path:
    spec = {"base_set": EASY_BASE, "variants": variants, "frames_per_variant": frames, "val_frames": val,
            "train": {**TINY_TRAIN, **train}, "preview_images": 2}
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture
def one_thread():
    # Two shared CPU cores: torch's thread pool fighting other processes is ~3x slower than one thread.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_training_on_an_easy_task_beats_chance_on_synthetic_val(tmp_path, one_thread):
    path = write_experiment(tmp_path / "e.yaml", [{"name": "plain"}], 240, 40,
                            iterations=300, warmup_iterations=30, eval_every=150)
    results = run_experiment(load_experiment(path), tmp_path / "out", progress=False)
    (run,) = results["variants"][0]["runs"]
    ap50 = run["eval"]["synthetic_val"]["AP50"]
    # Measured 0.38 (README). Random boxes score ~0 on 40 frames of 1-2 objects.
    assert ap50 > 0.2, ap50
    assert run["pretrained"]["kind"] == "none"
    losses = [loss for _, loss in run["history"]["loss"]]
    assert losses[-1] < 0.6 * losses[0]
    assert [h[0] for h in run["history"]["val"]] == [150, 300]


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_variants_run_end_to_end_and_resume_after_a_kill_during_the_second(tmp_path):
    path = write_experiment(tmp_path / "e.yaml", [{"name": "plain"}, {"name": "textured",
                            "set": ["material.texture_probability=1.0"]}], 60, 12,
                            iterations=60, warmup_iterations=10, checkpoint_every=10, eval_every=30)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "vizsynth", "experiment", str(path), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = out / "variants" / "textured" / "seed0" / "checkpoint.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = out / "variants" / "plain"
    before = _files(first)
    result_before = json.loads((first / "result.json").read_text())
    assert not (out / "results.json").exists()

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _files(first) == before  # nothing of variant 1 was redone or rewritten
    results = json.loads((out / "results.json").read_text())
    assert [v["name"] for v in results["variants"]] == ["plain", "textured"]
    assert results["variants"][0] == result_before
    second = results["variants"][1]
    assert second["overrides"] == ["material.texture_probability=1.0"]
    assert [h[0] for h in second["runs"][0]["history"]["loss"]][-1] == 60
    assert not checkpoint.exists()  # finished trainings keep only model_final.pt
    table = (out / "results.md").read_text()
    assert "| plain |" in table and "| textured |" in table and "synthetic_val AP50" in table
    for name in ("ap50.png", "curves/plain.png", "curves/textured.png"):
        assert (out / name).stat().st_size > 1000, name
    assert "| plain |" in done.stdout


def test_an_experiment_folder_refuses_other_settings(tmp_path):
    path = write_experiment(tmp_path / "e.yaml", [{"name": "plain"}], 60, 12, iterations=5)
    out = tmp_path / "out"
    out.mkdir()
    (out / "spec.json").write_text(json.dumps(load_experiment(path, ["train.iterations=6"]).model_dump(mode="json")))
    with pytest.raises(OutputError, match=r"train\.iterations differ"):
        run_experiment(load_experiment(path), out, progress=False)


def test_a_folder_with_other_files_is_refused(tmp_path):
    path = write_experiment(tmp_path / "e.yaml", [{"name": "plain"}], 60, 12, iterations=5)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    with pytest.raises(OutputError, match="not empty"):
        run_experiment(load_experiment(path), tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep"


def test_spec_errors_name_the_field_and_value(tmp_path):
    path = write_experiment(tmp_path / "e.yaml", [{"name": "a"}, {"name": "a"}], 60, 12)
    with pytest.raises(ConfigError, match=r"unique.*'a'"):
        load_experiment(path)
    with pytest.raises(ConfigError, match=r"train\.modle.*did you mean 'model'"):
        load_experiment(path, ["variants=[{name: a}]", "train.modle=x"])
    with pytest.raises(ConfigError, match=r"val_frames \(60\) must be < frames_per_variant"):
        load_experiment(path, ["variants=[{name: a}]", "val_frames=60"])


def test_missing_real_frames_name_every_candidate(tmp_path):
    path = write_experiment(tmp_path / "e.yaml", [{"name": "plain"}], 60, 12, iterations=5)
    spec = load_experiment(path, ["real_sets=[{name: real, ycbv_frames: [nowhere_a, nowhere_b]}]"])
    with pytest.raises(ConfigError, match="nowhere_a.*nowhere_b"):
        run_experiment(spec, tmp_path / "out", progress=False)
