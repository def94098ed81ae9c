"""Bad input: one clear message (field or file, rule, value), exit code 2, no traceback, nothing written."""

from __future__ import annotations

import json
import os
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
    pytest.param({"objects": {"count": 10**6}}, ["objects.count", "<= 1000", "1000000"], id="objects_count_1e6"),
    pytest.param({"effects": {"blur_sigma_px": 1e9}}, ["effects.blur_sigma_px", "<= 100", "1e+09"],
                 id="blur_sigma_1e9"),
    pytest.param({"camera": {"distance_m": {"uniform": [-1e308, 1e308]}}}, ["camera.distance_m", "<= 10000", "1e+308"],
                 id="distance_pm_1e308"),
    pytest.param({"objects": {"assets": [{"mesh": "m.ply", "category": "  "}]}},
                 ["objects.assets.0.mesh.category", "empty or blank", "'  '"], id="blank_category"),
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
    degenerate = tmp_path / "degenerate.obj"
    degenerate.write_text("v 0 0 0\nv 1 1 1\nv 2 2 2\nv 0.1 0.2 0.3\nf 1 2 3\nf 1 4 4\nf 3 2 1\n")
    return {
        "missing": (tmp_path / "nowhere.obj", "does not exist"),
        "corrupt": (corrupt, "cannot be read"),
        "faceless": (faceless, "has no triangle faces"),
        "degenerate": (degenerate, "all of its 3 faces are degenerate (zero area)"),
    }


@pytest.mark.parametrize("kind", ["missing", "corrupt", "faceless", "degenerate"])
def test_bad_mesh_in_config(tmp_path, capsys, kind):
    path, rule = _broken_meshes(tmp_path)[kind]
    config = _config(tmp_path, {"objects": {"assets": [{"mesh": str(path), "category": "thing"}]}})
    out = tmp_path / "out"
    code, err = _run(["generate", config, "--out", out, "-n", "2"], capsys)
    assert code == 2 and "Traceback" not in err
    assert str(path) in err and rule in err
    assert not out.exists()


@pytest.mark.gl
@pytest.mark.parametrize("kind", ["missing", "corrupt", "faceless", "degenerate"])
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


def test_blank_category_in_scene(tmp_path, capsys):
    path = _scene(tmp_path, [_obj(primitive="cube", category=" ")])
    code, err = _run(["render-scene", path, "--out", tmp_path / "out"], capsys)
    assert code == 2 and "Traceback" not in err and str(path) in err
    assert "objects.0.category" in err and "empty or blank" in err
    assert not (tmp_path / "out").exists()


def test_non_utf8_config_file(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_bytes(b"image: {width: 64, height: 48}\nobjects: {count: 2}  # \xff\xfe caf\xe9\n")
    out = tmp_path / "out"
    code, err = _run(["generate", config, "--out", out, "-n", "1"], capsys)
    assert code == 2 and "Traceback" not in err and err.count("vizsynth: error:") == 1
    offset = config.read_bytes().index(b"\xff")
    assert str(config) in err and "not UTF-8" in err and f"byte 0xff at byte offset {offset}" in err
    assert not out.exists()


@pytest.mark.parametrize("kind", ["zero_byte", "undecodable"])
@pytest.mark.parametrize("section", ["texture", "background"])
def test_bad_image_in_folder(tmp_path, capsys, kind, section):
    folder = tmp_path / "images"
    folder.mkdir()
    good = np.full((8, 8, 3), 128, np.uint8)
    import cv2

    assert cv2.imwrite(str(folder / "a_good.png"), good)
    bad = folder / "b_bad.jpg"
    bad.write_bytes(b"" if kind == "zero_byte" else b"this is not a JPEG at all" * 40)
    data = {"image": {"width": 32, "height": 24}}
    if section == "texture":
        data["material"] = {"textures": ["image"], "texture_folder": str(folder), "texture_probability": 1.0}
    else:
        data["background"] = {"kind": "image", "image_folder": str(folder)}
    out = tmp_path / "out"
    code, err = _run(["generate", _config(tmp_path, data), "--out", out, "-n", "2"], capsys)
    assert code == 2 and "Traceback" not in err and err.count("vizsynth: error:") == 1
    assert str(bad) in err and ("is empty (0 bytes)" if kind == "zero_byte" else "cannot be decoded") in err
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--columns", "0"], "--columns must be >= 1, got 0"),
        (["--scale", "0"], "--scale must be in (0, 8], got 0"),
        (["--scale", "-1"], "--scale must be in (0, 8], got -1"),
        (["--scale", "nan"], "--scale must be in (0, 8], got nan"),
        (["--frames", "-2"], "--frames must be >= 0, got -2"),
        (["--out", "{tmp}/sheet.txt"], "cannot write '.txt' images"),
    ],
    ids=["columns_0", "scale_0", "scale_negative", "scale_nan", "frames_negative", "out_txt"],
)
def test_bad_preview_arguments(tmp_path, capsys, argv, fragment):
    # The dataset does not exist: the arguments must be refused before it is read.
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = ["--out", tmp_path / "sheet.png"] if "--out" not in argv else []
    code, err = _run(["preview", tmp_path / "no_dataset", *argv, *out], capsys)
    assert code == 2 and "Traceback" not in err and err.count("vizsynth: error:") == 1
    assert fragment in err and "no_dataset" not in err
    assert list(tmp_path.iterdir()) == []


def test_summary_on_strict_ascii_stdout(tmp_path):
    out = tmp_path / "données"
    proc = subprocess.run(
        [sys.executable, "-m", "vizsynth", "generate", "--out", str(out), "-n", "1", "--no-progress",
         "--set", "image.width=32", "--set", "image.height=24"],
        capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii:strict"},
    )
    assert proc.returncode == 0, proc.stderr.decode("ascii", "replace")
    assert b"Traceback" not in proc.stderr
    assert b"donn\\xe9es: 1/1 frames" in proc.stdout
    assert (out / "annotations.json").is_file()
