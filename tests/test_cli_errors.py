"""Bad input: one clear message (field or file, rule, value), exit code 2, no traceback, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from vizsynth.cli import main

MUG = Path(__file__).parent / "data" / "ycbv" / "models" / "025_mug.ply"


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err


def _config(tmp_path, data) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _scene(tmp_path, objects, name="scene.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({
        "camera": {"K": [[60, 0, 31.5], [0, 60, 23.5], [0, 0, 1]], "width": 64, "height": 48},
        "objects": objects,
    }))
    return path


def _obj(**fields):
    pose = np.eye(4)
    pose[2, 3] = 1.0
    return {"category": "thing", "obj_to_world": pose.tolist(), **fields}


BAD_CONFIGS = [
    ({"camera": {"fov_deg": 40}}, ["unknown key 'camera.fov_deg'", "yfov_deg"]),
    ({"objects": {"primitive_size_m": {"uniform": [0.3, 0.1]}}}, ["objects.primitive_size_m", "low <= high", "0.3"]),
    ({"objects": {"count": -3}}, ["objects.count", ">= 0", "-3"]),
    ({"image": {"width": 0, "height": 48}}, ["image.width", "greater than 0"]),
    ({"objects": {"assets": [{"primitive": "dodecahedron"}]}}, ["objects.assets.0", "dodecahedron", "'cube'"]),
]


@pytest.mark.parametrize("data, fragments", BAD_CONFIGS)
def test_bad_config(tmp_path, capsys, data, fragments):
    out = tmp_path / "out"
    code, err = _run(["generate", _config(tmp_path, data), "--out", out, "-n", "2"], capsys)
    assert code == 2
    assert "Traceback" not in err and str(tmp_path / "config.yaml") in err
    for fragment in fragments:
        assert fragment in err
    assert not out.exists()


def _broken_meshes(tmp_path) -> dict[str, tuple[Path, str]]:
    corrupt = tmp_path / "corrupt.ply"
    corrupt.write_bytes(MUG.read_bytes()[:300])
    faceless = tmp_path / "faceless.obj"
    faceless.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    return {
        "missing": (tmp_path / "nowhere.obj", "does not exist"),
        "corrupt": (corrupt, "cannot be read"),
        "faceless": (faceless, "has no triangle faces"),
    }


@pytest.mark.parametrize("kind", ["missing", "corrupt", "faceless"])
def test_bad_mesh_in_config(tmp_path, capsys, kind):
    path, rule = _broken_meshes(tmp_path)[kind]
    config = _config(tmp_path, {"objects": {"assets": [{"mesh": str(path), "category": "thing"}]}})
    out = tmp_path / "out"
    code, err = _run(["generate", config, "--out", out, "-n", "2"], capsys)
    assert code == 2 and "Traceback" not in err
    assert str(path) in err and rule in err
    assert not out.exists()


@pytest.mark.gl
@pytest.mark.parametrize("kind", ["missing", "corrupt", "faceless"])
def test_bad_mesh_in_scene(tmp_path, capsys, kind):
    path, rule = _broken_meshes(tmp_path)[kind]
    good = _scene(tmp_path, [_obj(primitive="cube")], "good.json")
    bad = _scene(tmp_path, [_obj(mesh=path.name)], "bad.json")
    out = tmp_path / "out"
    code, err = _run(["render-scene", good, bad, "--out", out], capsys)
    assert code == 2 and "Traceback" not in err
    assert str(path) in err and rule in err
    assert not out.exists(), "the good scene before the bad one must not be half-written"


@pytest.mark.parametrize(
    "content, fragments",
    [
        ('{"camera": {"K": [[1, 0, 0], [0, 1, 0]], "width": 8, "height": 8}, "objects": []}', ["camera.K", "3x3"]),
        ('{"camera": {"K": [[9, 0, 4], [0, 9, 4], [0, 0, 1]], "width": 8}, "objects": []}', ["camera.height", "required"]),
        ('{"camera": {"K": [[9, 0, 4], [0, 9, 4], [0, 0, 1]], "width": 8, "height": 8}, "objects": [], "cam": 1}',
         ["unknown key 'cam'"]),
        ('{"camera": ', ["not valid JSON"]),
        ('{"camera": {"K": [[9, 0, 4], [0, 9, 4], [0, 0, 1]], "width": 8, "height": 8}, "objects": '
         '[{"category": "a", "primitive": "cube", "obj_to_world": [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]}]}',
         ["objects.0.obj_to_world", "rigid", "mesh_scale"]),
    ],
)
def test_malformed_scene_json(tmp_path, capsys, content, fragments):
    path = tmp_path / "scene.json"
    path.write_text(content)
    code, err = _run(["render-scene", path, "--out", tmp_path / "out"], capsys)
    assert code == 2 and "Traceback" not in err and str(path) in err
    for fragment in fragments:
        assert fragment in err
    assert not (tmp_path / "out").exists()


@pytest.mark.gl
def test_unknown_primitive_category_in_scene(tmp_path, capsys):
    path = _scene(tmp_path, [_obj(primitive="cubee")])
    code, err = _run(["render-scene", path, "--out", tmp_path / "out"], capsys)
    assert code == 2 and "unknown primitive 'cubee'" in err and "cube" in err


@pytest.mark.gl
def test_existing_output_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    code, err = _run(["generate", "--out", out, "-n", "1", "--set", "image.width=32", "--set", "image.height=24"], capsys)
    assert code == 2 and "not empty" in err
    code, err = _run(["generate", "--out", out, "-n", "1", "--overwrite"], capsys)
    assert code == 2 and "does not look like a vizsynth dataset" in err
    assert (out / "precious.txt").read_text() == "keep me"


def test_console_entry_point_exit_code_and_message(tmp_path):
    config = _config(tmp_path, {"objects": {"count": {"uniform": [5, 2]}}})
    proc = subprocess.run(
        [sys.executable, "-m", "vizsynth", "generate", str(config), "--out", str(tmp_path / "o")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("vizsynth: error:") and "Traceback" not in proc.stderr
    assert "objects.count" in proc.stderr and "low <= high" in proc.stderr


@pytest.mark.parametrize(
    "content, fragment",
    [(None, "does not exist"), ("image: {width: [1,\n", "not valid YAML"), ("- 1\n- 2\n", "must be a mapping")],
)
def test_missing_or_invalid_config_file(tmp_path, capsys, content, fragment):
    config = tmp_path / "config.yaml"
    if content is not None:
        config.write_text(content)
    out = tmp_path / "out"
    code, err = _run(["generate", config, "--out", out, "-n", "1"], capsys)
    assert code == 2 and "Traceback" not in err
    assert str(config) in err and fragment in err
    assert not out.exists()


@pytest.mark.gl
def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, err = _run(["generate", "--out", blocker / "out", "-n", "1"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "cannot write to output folder" in err and str(blocker / "out") in err
