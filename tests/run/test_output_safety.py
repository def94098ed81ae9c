"""Only vizsynth's own files are ever deleted, and every interruption leaves a folder that --resume
or --overwrite finishes. Every case runs on decoy folders in tmp_path, never a real home or root."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import vizsynth
from vizsynth.cli import main
from vizsynth.errors import OutputError
from vizsynth.run.outdir import check_deletable_location

pytestmark = pytest.mark.gl

CONFIG = {"image": {"width": 32, "height": 24}, "objects": {"count": {"uniform": [1, 3]}}}
SETS = ["--set", "image.width=32", "--set", "image.height=24", "--set", "objects.count={uniform: [1, 3]}"]
N = 8


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root except the manifest (which records timings)."""
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def everything(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "data"
    assert vizsynth.generate(CONFIG, out, num_frames=N, seed=5, progress=False).ok
    return out


def _copy(reference: Path, where: Path) -> Path:
    shutil.copytree(reference, where)
    return where


def _cli(args: list, capsys) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _generate_args(out: Path, *extra) -> list:
    return ["generate", "--out", out, "-n", N, "--seed", 5, "--no-progress", *SETS, *extra]


def _one_message(err: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("vizsynth: error:"), err


# --- deletion is limited to vizsynth's own output ----------------------------------------------

def test_overwrite_refuses_a_dataset_holding_a_user_file_and_keeps_everything(reference, tmp_path, capsys):
    out = _copy(reference, tmp_path / "data")
    (out / "notes.txt").write_text("mine")
    (out / "images" / "00000" / "holiday.jpg").write_bytes(b"\xff\xd8mine")
    before = everything(out)
    code, err = _cli(_generate_args(out, "--overwrite"), capsys)
    assert code == 2
    _one_message(err)
    assert "notes.txt" in err and "holiday.jpg" in err
    assert everything(out) == before


@pytest.mark.parametrize("decoy", ["images/00000/camera.json", "depth/models_eval/obj_000001.ply",
                                   "instances/00000/seqinfo.ini", "frames/00000/data.yaml"])
def test_overwrite_refuses_a_label_formats_file_name_outside_that_formats_folder(reference, tmp_path, capsys, decoy):
    # BOP, MOT and YOLO names are vizsynth's only inside bop/, mot/ and yolo/: elsewhere they are a user's.
    out = _copy(reference, tmp_path / "data")
    (out / decoy).parent.mkdir(parents=True, exist_ok=True)
    (out / decoy).write_text("mine")
    before = everything(out)
    code, err = _cli(_generate_args(out, "--overwrite"), capsys)
    assert code == 2
    _one_message(err)
    assert decoy.split("/")[-2 if "models_eval" in decoy else -1] in err
    assert everything(out) == before


@pytest.mark.parametrize("manifest", [b"", b"{}", b"not json", b'{"status": "complete"}', "symlink"])
def test_overwrite_refuses_a_folder_without_a_real_vizsynth_manifest(reference, tmp_path, capsys, manifest):
    out = tmp_path / "folder"
    out.mkdir()
    (out / "documents.txt").write_text("mine")
    (out / "images").mkdir()
    (out / "images" / "00000001.png").write_bytes(b"mine")
    if manifest == "symlink":
        (out / "manifest.json").symlink_to(reference / "manifest.json")
    else:
        (out / "manifest.json").write_bytes(manifest)
    before = everything(out)
    code, err = _cli(_generate_args(out, "--overwrite"), capsys)
    assert code == 2
    _one_message(err)
    assert everything(out) == before


def test_overwrite_of_a_pure_dataset_keeps_the_folder_itself(reference, tmp_path, capsys):
    out = _copy(reference, tmp_path / "data")
    (out / "images" / "00000" / "00000003.jpg").write_bytes(b"stale")
    inode = out.stat().st_ino
    code, err = _cli(_generate_args(out, "--overwrite"), capsys)
    assert code == 0, err
    assert out.stat().st_ino == inode
    assert tree_bytes(out) == tree_bytes(reference)


def test_overwrite_accepts_every_file_each_label_format_writes(tmp_path, capsys):
    """COCO, YOLO and BOP files and every optional map are vizsynth's: --overwrite replaces them."""
    out = tmp_path / "data"
    sets = [*SETS, "--set", "output.formats=[coco, yolo, bop]", "--set", "objects.primitive_size_m=0.2",
            "--set", "annotate.semantic_map=true", "--set", "annotate.normals_map=true",
            "--set", "annotate.ray_distance_map=true"]
    args = ["generate", "--out", out, "-n", 2, "--no-progress", *sets]
    assert _cli(args, capsys)[0] == 0
    first = everything(out)
    assert any(name.startswith("bop/models/") for name in first) and "yolo/data.yaml" in first
    code, err = _cli([*args, "--overwrite"], capsys)
    assert code == 0, err
    assert set(everything(out)) == set(first)


def test_overwrite_refuses_the_home_folder(reference, tmp_path, capsys, monkeypatch):
    home = _copy(reference, tmp_path / "home")  # a home that looks exactly like a vizsynth dataset
    monkeypatch.setenv("HOME", str(home))
    before = everything(home)
    code, err = _cli(_generate_args(Path("~").expanduser(), "--overwrite"), capsys)
    assert code == 2 and "home folder" in err
    _one_message(err)
    assert everything(home) == before


@pytest.mark.parametrize("where", [".", ".."])
def test_overwrite_refuses_the_current_folder_and_its_ancestors(reference, tmp_path, capsys, monkeypatch, where):
    out = _copy(reference, tmp_path / "data")
    (out / "frames" / "sub").mkdir()
    monkeypatch.chdir(out / "frames" / "sub" if where == ".." else out)
    target = Path("..") / ".." if where == ".." else Path(".")
    before = everything(out)
    code, err = _cli(_generate_args(target, "--overwrite"), capsys)
    assert code == 2 and "current folder" in err
    _one_message(err)
    assert everything(out) == before


def test_overwrite_refuses_the_filesystem_root():
    with pytest.raises(OutputError, match="filesystem root"):
        check_deletable_location(Path("/"))


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {proc.stderr.decode().strip()}")


@pytest.fixture
def mounted(tmp_path):
    """A small tmpfs mounted at tmp_path/mnt (root only), unmounted afterwards."""
    mnt = tmp_path / "mnt"

    def mount(size: str) -> Path:
        _mount_tmpfs(mnt, size)
        return mnt

    yield mount
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_overwrite_refuses_a_mount_point(reference, mounted, capsys):
    mnt = mounted("8m")
    for entry in reference.iterdir():  # the mount point itself holds a pure vizsynth dataset
        (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, mnt / entry.name)
    before = everything(mnt)
    code, err = _cli(_generate_args(mnt, "--overwrite"), capsys)
    assert code == 2 and "mount point" in err
    _one_message(err)
    assert everything(mnt) == before


def test_error_for_a_foreign_folder_does_not_suggest_overwrite(tmp_path, capsys):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "cat.jpg").write_bytes(b"mine")
    code, err = _cli(_generate_args(out), capsys)
    assert code == 2 and "not a vizsynth dataset" in err and "--overwrite" not in err
    assert everything(out) == {"cat.jpg": b"mine"}


def test_replay_refuses_the_dataset_and_folders_inside_it(reference, tmp_path, capsys):
    data = _copy(reference, tmp_path / "data")
    before = everything(data)
    for out in (data, data / "replays"):
        code, err = _cli(["replay", data, "--frame", 3, "--out", out, "--overwrite"], capsys)
        assert code == 2 and "inside it" in err
        _one_message(err)
    assert everything(data) == before


def test_replay_runs_twice_and_compares_with_the_dataset(reference, tmp_path, capsys):
    data = _copy(reference, tmp_path / "data")
    out = tmp_path / "replay"
    assert _cli(["replay", data, "--frame", 3, "--out", out], capsys)[0] == 0
    code, err = _cli(["replay", data, "--frame", 3, "--out", out], capsys)
    assert code == 2 and "--overwrite" in err and "--resume" not in err
    assert _cli(["replay", data, "--frame", 3, "--out", out, "--overwrite"], capsys)[0] == 0
    # A changed original must be reported: the comparison reads the dataset, not the replay.
    image = data / "images" / "00000" / "00000003.jpg"
    image.write_bytes(image.read_bytes()[:-1] + b"\x00")
    assert _cli(["replay", data, "--frame", 3, "--out", out, "--overwrite"], capsys)[0] == 1


def test_replay_of_the_current_folder_gets_a_sibling_output(reference, tmp_path, capsys, monkeypatch):
    data = _copy(reference, tmp_path / "data")
    monkeypatch.chdir(data)
    code, err = _cli(["replay", ".", "--frame", 1], capsys)
    assert code == 0, err
    assert (tmp_path / "data_replay_1" / "images" / "00000" / "00000001.jpg").is_file()


# --- every interruption leaves a folder that --resume or --overwrite finishes -------------------

@pytest.mark.parametrize("leftover", ["none", "temporary manifest", "starting manifest"])
def test_kill_in_the_start_up_window_leaves_a_finishable_folder(reference, tmp_path, capsys, leftover):
    """What a kill -9 leaves at each point of the start-up: the folder alone, the first manifest's
    temporary file, or the first manifest ("starting") without config.yaml."""
    states = {}
    for command in ("plain", "--resume", "--overwrite"):
        out = tmp_path / command.strip("-") / "data"
        out.mkdir(parents=True)
        if leftover == "temporary manifest":
            (out / ".tmp-4242-manifest.json").write_bytes(b'{"format": "vizsyn')
        elif leftover == "starting manifest":
            manifest = json.loads((reference / "manifest.json").read_text())
            for key in ("completed", "failed", "last_run", "labels_written", "validation"):
                manifest.pop(key)
            (out / "manifest.json").write_text(json.dumps({**manifest, "status": "starting"}))
        extra = [] if command == "plain" else [command]
        code, err = _cli(_generate_args(out, *extra), capsys)
        states[command] = code
        if code == 0:
            assert tree_bytes(out) == tree_bytes(reference), command
    # A plain rerun refuses only a folder that already holds a vizsynth manifest.
    assert states == {"plain": 2 if leftover == "starting manifest" else 0, "--resume": 0, "--overwrite": 0}


@pytest.mark.parametrize("trigger", [".", "manifest.json", "config.yaml", "frames/00000/00000000.json"])
def test_kill_9_at_each_step_of_the_start_up_leaves_a_folder_resume_finishes(reference, tmp_path, trigger):
    """A real kill -9 the moment each start-up step shows on disk (the folder, the first manifest,
    config.yaml, the first frame): --resume always finishes the job byte-identically."""
    out = tmp_path / "data"
    cmd = [sys.executable, "-m", "vizsynth", *map(str, _generate_args(out))]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (out / trigger).exists() and proc.poll() is None:
        time.sleep(0.001)
    proc.kill()
    proc.wait()
    finished = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert tree_bytes(out) == tree_bytes(reference)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_signal_to_the_parent_alone_stops_the_workers_and_resume_finishes(reference, tmp_path, sig):
    out = tmp_path / "data"
    cmd = [sys.executable, "-m", "vizsynth", *map(str, _generate_args(out, "--workers", "2"))]
    cmd[cmd.index("-n") + 1] = "60"  # long enough to be stopped in the middle
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list((out / "frames").rglob("*.json"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
        time.sleep(0.05)
    workers = _descendants(proc.pid)
    assert len(workers) >= 2
    os.kill(proc.pid, sig)  # the parent only: its workers get no signal
    code = proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    time.sleep(5)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived their parent"
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        assert code == 128 + sig and "Traceback" not in err and "--resume" in err, err
        assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    proc = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # Frames 0..N-1 of the 60 equal the reference (same config and seed).
    for name, data in tree_bytes(reference).items():
        if name.startswith(("images/", "depth/", "instances/", "frames/")):
            assert (out / name).read_bytes() == data, name


def test_resume_renders_again_frames_whose_files_are_missing_or_truncated(reference, tmp_path, capsys):
    out = _copy(reference, tmp_path / "data")
    (out / "images" / "00000" / "00000001.jpg").unlink()
    depth = out / "depth" / "00000" / "00000002.png"
    depth.write_bytes(depth.read_bytes()[: len(depth.read_bytes()) // 2])
    record = out / "frames" / "00000" / "00000004.json"
    record.write_bytes(record.read_bytes()[:200])
    (out / "annotations.json").unlink()
    code, err = _cli(_generate_args(out, "--resume"), capsys)
    assert code == 0, err
    assert tree_bytes(out) == tree_bytes(reference)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["last_run"]["rendered"] == 3


def test_resume_with_a_corrupt_manifest_is_one_clear_message(reference, tmp_path, capsys):
    out = _copy(reference, tmp_path / "data")
    (out / "manifest.json").write_bytes((reference / "manifest.json").read_bytes()[:40])
    before = everything(out)
    code, err = _cli(_generate_args(out, "--resume"), capsys)
    assert code == 2 and "corrupt" in err and "new folder" in err
    _one_message(err)
    assert everything(out) == before


def test_resume_with_a_changed_config_names_the_fields(reference, tmp_path, capsys):
    out = _copy(reference, tmp_path / "data")
    code, err = _cli(_generate_args(out, "--resume", "--set", "image.width=40", "--set", "lights.count=2"), capsys)
    assert code == 2
    _one_message(err)
    assert "image.width: recorded 32, now 40" in err and "lights.count" in err


def test_disk_full_ends_in_one_message_and_resume_completes_after_space_is_freed(reference, mounted, capsys):
    mnt = mounted("96k")  # tmpfs counts whole 4 KB pages: a few frames fit, not all
    out = mnt / "data"
    code, err = _cli(_generate_args(out), capsys)
    assert code == 2, err
    _one_message(err)
    assert "No space left on device" in err and "free" in err and "--resume" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] in ("storage_error", "merge_failed")
    subprocess.run(["mount", "-o", "remount,size=32m", str(mnt)], check=True)
    code, err = _cli(_generate_args(out, "--resume"), capsys)
    assert code == 0, err
    assert tree_bytes(out) == tree_bytes(reference)


def test_read_only_storage_ends_in_one_message_for_resume_and_overwrite(reference, mounted, capsys):
    mnt = mounted("8m")
    out = _copy(reference, mnt / "data")
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    for option in ("--resume", "--overwrite"):
        code, err = _cli(_generate_args(out, option), capsys)
        assert code == 2 and "Read-only file system" in err, (option, err)
        _one_message(err)
    assert tree_bytes(out) == tree_bytes(reference)


def test_a_frame_that_cannot_meet_its_constraints_is_reported_as_deterministic(tmp_path, capsys):
    out = tmp_path / "data"
    code, err = _cli(["generate", "--out", out, "-n", 2, "--no-progress", *SETS, "--set", "objects.count=1",
                      "--set", "constraints.min_visible_objects=3", "--set", "constraints.max_tries=2"], capsys)
    assert code == 1
    assert "deterministic" in err and "constraints.max_tries" in err and "retry the others" not in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["deterministic"] for f in manifest["failed"]] == [True, True]


# --- bad input: one message, exit 2, nothing written --------------------------------------------

@pytest.mark.parametrize("case", ["frames beyond the 8-digit limit", "image wider than the GL driver renders"])
def test_bad_job_sizes_are_refused_before_anything_is_written(tmp_path, capsys, case):
    out = tmp_path / "data"
    args = ["generate", "--out", out, "--no-progress"]
    args += ["-n", 10**12, *SETS] if case.startswith("frames") else ["-n", 1, "--set", "image.width=20000"]
    started = time.monotonic()
    code, err = _cli(args, capsys)
    assert code == 2
    _one_message(err)
    assert ("-n" in err or "number of frames" in err) if case.startswith("frames") else "image.width" in err
    assert not out.exists()
    assert time.monotonic() - started < 30


def test_generate_at_a_scripts_top_level_with_workers_says_to_use_the_main_guard(tmp_path):
    script = tmp_path / "make_data.py"
    script.write_text(
        "import vizsynth\n"
        f"vizsynth.generate({CONFIG!r}, {str(tmp_path / 'data')!r}, num_frames=4, workers=2, progress=False)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'if __name__ == "__main__":' in proc.stderr and "RenderError" in proc.stderr
    assert "could not set up their renderer" not in proc.stderr
