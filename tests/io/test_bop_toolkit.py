"""The BOP dataset read and scored by the BOP toolkit's own code, and its files checked on their own.

The toolkit (github.com/thodan/bop_toolkit) is not on PyPI and pins numpy<2 in its metadata, so it
is not a dependency: the tests that run its code skip unless ``bop_toolkit_lib`` is importable
(``git clone`` it and put the clone on PYTHONPATH; it needs pypng, the ``bop`` extra). The check
with its vispy renderer also needs vispy and runs in a subprocess (its own EGL context).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

import vizsynth
from vizsynth.assets.meshes import MeshLibrary

pytestmark = pytest.mark.gl
TOOLKIT_MISSING = "bop_toolkit_lib is not importable (git clone github.com/thodan/bop_toolkit; add it to PYTHONPATH)"

# A 20 x 10 x 6 cm box whose centre sits 5 cm along x from its file's origin, with the three half
# turns about its centre lines declared in the box's own units (metres).
BOX_SYMMETRIES = {"discrete": [
    [-1, 0, 0, 0.1, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],  # about z through (0.05, 0, 0)
    [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1],  # about x (the line through the centre)
    [-1, 0, 0, 0.1, 0, 1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1],  # about y through (0.05, 0, 0)
]}


def _config(box: Path) -> dict:
    return {
        "image": {"width": 64, "height": 48},
        "objects": {"count": {"uniform": [2, 4]}, "primitive_size_m": 0.25,
                    "assets": [{"primitive": "cube"}, {"primitive": "cylinder"},
                               {"mesh": str(box), "category": "box", "symmetries": BOX_SYMMETRIES}]},
        "camera": {"distance_m": 1.0},
        "output": {"formats": ["coco", "bop"], "image_format": "png"},
    }


@pytest.fixture(scope="module")
def box_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("assets") / "box.ply"
    box = trimesh.creation.box(extents=(0.2, 0.1, 0.06))
    box.apply_translation((0.05, 0.0, 0.0))
    box.export(path)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, box_file) -> Path:
    out = tmp_path_factory.mktemp("bop") / "data"
    assert vizsynth.generate(_config(box_file), out, num_frames=4, seed=5, progress=False).ok
    return out


@pytest.fixture
def toolkit():
    pytest.importorskip("bop_toolkit_lib", reason=TOOLKIT_MISSING)
    from bop_toolkit_lib import inout, misc, pose_error

    return inout, misc, pose_error


def _ply(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """An independent reader of an ASCII PLY: (header lines, (V, 6) vertex rows, (F, 4) face rows)."""
    lines = path.read_text().splitlines()
    end = lines.index("end_header")
    header = lines[:end]
    count = {line.split()[1]: int(line.split()[2]) for line in header if line.startswith("element")}
    rows = lines[end + 1:]
    vertices = np.array([r.split() for r in rows[:count["vertex"]]], dtype=float)
    faces = np.array([r.split() for r in rows[count["vertex"]:]], dtype=int)
    assert len(faces) == count["face"]
    return header, vertices, faces


def test_models_are_ascii_ply_in_millimetres_with_outward_unit_vertex_normals(dataset):
    models = dataset / "bop" / "models"
    info = json.loads((models / "models_info.json").read_text())
    library = MeshLibrary()
    for obj_id, primitive in ((1, "cube"), (2, "cylinder")):
        header, rows, faces = _ply(models / f"obj_{obj_id:06d}.ply")
        assert header[1] == "format ascii 1.0"
        assert [h.split()[-1] for h in header if h.startswith("property float")] == ["x", "y", "z", "nx", "ny", "nz"]
        unit = library.get(primitive=primitive)
        np.testing.assert_allclose(rows[:, :3], unit.vertices * 250.0, atol=1e-5)
        np.testing.assert_array_equal(faces, np.hstack([np.full((len(unit.faces), 1), 3), unit.faces]))
        normals = rows[:, 3:]
        np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
        assert (np.sum(normals * rows[:, :3], axis=1) > 0).all(), "outward: the models are convex about 0"
        assert info[str(obj_id)]["diameter"] == pytest.approx(
            max(np.linalg.norm(a - b) for a in rows[:, :3] for b in rows[:, :3]), rel=1e-6)
    loaded = trimesh.load(models / "obj_000003.ply", process=False)
    assert loaded.extents == pytest.approx([200.0, 100.0, 60.0]), "the box's metres written as millimetres"


def test_models_eval_holds_the_same_models(dataset):
    root = dataset / "bop"
    names = sorted(p.name for p in (root / "models").iterdir())
    assert names == sorted(p.name for p in (root / "models_eval").iterdir())
    assert all((root / "models" / n).read_bytes() == (root / "models_eval" / n).read_bytes() for n in names)
    info = json.loads((root / "dataset_info.json").read_text())
    assert "identical" in info["models_eval"] and info["objects"] == {"1": "cube", "2": "cylinder", "3": "box"}


def test_declared_mesh_symmetries_map_the_written_model_onto_itself(dataset):
    box = json.loads((dataset / "bop" / "models" / "models_info.json").read_text())["3"]
    _, rows, _ = _ply(dataset / "bop" / "models" / "obj_000003.ply")
    vertices = rows[:, :3]
    assert len(box["symmetries_discrete"]) == 3 and "symmetries_continuous" not in box
    for values in box["symmetries_discrete"]:
        transform = np.reshape(values, (4, 4))
        moved = vertices @ transform[:3, :3].T + transform[:3, 3]
        assert cKDTree(vertices).query(moved)[0].max() < 1e-4, "translations in millimetres"


def test_camera_json_is_the_first_image_of_scene_camera(dataset):
    root = dataset / "bop"
    camera = json.loads((root / "camera.json").read_text())
    scene = json.loads((root / "train_pbr" / "000000" / "scene_camera.json").read_text())
    K = np.reshape(scene["0"]["cam_K"], (3, 3))
    assert [camera[k] for k in ("fx", "fy", "cx", "cy")] == [K[0, 0], K[1, 1], K[0, 2], K[1, 2]]
    assert (camera["width"], camera["height"]) == (64, 48) and camera["depth_scale"] == scene["0"]["depth_scale"]
    assert camera["cam_K_varies"] == any(s["cam_K"] != scene["0"]["cam_K"] for s in scene.values())


def test_toolkit_loads_the_models_with_normals_and_the_scene_files(dataset, toolkit):
    inout, _, _ = toolkit
    root = dataset / "bop"
    info = inout.load_json(root / "models" / "models_info.json", keys_to_int=True)
    assert sorted(info) == [1, 2, 3]
    for obj_id in info:
        model = inout.load_ply(root / "models_eval" / f"obj_{obj_id:06d}.ply")
        assert model["normals"].shape == model["pts"].shape and len(model["faces"]) > 0
        assert np.ptp(model["pts"], axis=0).max() == pytest.approx(
            max(info[obj_id][k] for k in ("size_x", "size_y", "size_z")), rel=1e-6)
    camera = inout.load_cam_params(root / "camera.json")
    scene = root / "train_pbr" / "000000"
    scene_camera = inout.load_scene_camera(scene / "scene_camera.json")
    scene_gt = inout.load_scene_gt(scene / "scene_gt.json")
    assert sorted(scene_camera) == sorted(scene_gt) == [0, 1, 2, 3]
    np.testing.assert_array_equal(camera["K"], scene_camera[0]["cam_K"])
    depth = inout.load_depth(scene / "depth" / "000000.png")
    assert depth.shape == (48, 64) and camera["im_size"] == (64, 48)
    assert all(gt["cam_t_m2c"].shape == (3, 1) for gts in scene_gt.values() for gt in gts)


def test_toolkit_projected_model_points_bound_the_full_masks(dataset, toolkit):
    """misc.project_pts of the model vertices with cam_K (OpenCV pixel centres) against bbox_obj:
    the silhouette's pixel centres lie within the projected vertices' hull, rounding aside."""
    inout, misc, _ = toolkit
    root = dataset / "bop"
    scene = root / "train_pbr" / "000000"
    cameras = inout.load_scene_camera(scene / "scene_camera.json")
    infos = inout.load_json(scene / "scene_gt_info.json", keys_to_int=True)
    models = {i: inout.load_ply(root / "models" / f"obj_{i:06d}.ply")["pts"] for i in (1, 2, 3)}
    checked = 0
    for im_id, gts in inout.load_scene_gt(scene / "scene_gt.json").items():
        for gt_id, (gt, info) in enumerate(zip(gts, infos[im_id])):
            if info["px_count_visib"] == 0 or info["px_count_all"] != info["px_count_valid"]:
                continue  # hidden or truncated: the image box is not the whole silhouette's
            uv = misc.project_pts(models[gt["obj_id"]], cameras[im_id]["cam_K"], gt["cam_R_m2c"], gt["cam_t_m2c"])
            mask = inout.load_im(scene / "mask" / f"{im_id:06d}_{gt_id:06d}.png") > 0
            ys, xs = np.nonzero(mask)
            assert info["bbox_obj"] == [int(v) for v in misc.calc_2d_bbox(xs, ys)]
            x, y, w, h = info["bbox_obj"]
            assert uv[:, 0].min() - 0.5 <= x and x + w <= uv[:, 0].max() + 0.5
            assert uv[:, 1].min() - 0.5 <= y and y + h <= uv[:, 1].max() + 0.5
            checked += 1
    assert checked >= 4


def _turn_z(degrees: float) -> np.ndarray:
    return trimesh.transformations.rotation_matrix(np.radians(degrees), [0, 0, 1])[:3, :3]


def test_toolkit_mssd_forgives_the_symmetries_and_only_them(dataset, toolkit):
    inout, misc, pose_error = toolkit
    root = dataset / "bop" / "models"
    info = inout.load_json(root / "models_info.json", keys_to_int=True)
    t = np.array([[0.0], [0.0], [1000.0]])
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])

    def scores(obj_id, R_est):
        pts = inout.load_ply(root / f"obj_{obj_id:06d}.ply")["pts"]
        syms = misc.get_symmetry_transformations(info[obj_id], max_sym_disc_step=0.01)
        return (pose_error.mssd(R_est, t, np.eye(3), t, pts, syms),
                pose_error.mspd(R_est, t, np.eye(3), t, K, pts, syms),
                pose_error.mssd(R_est, t, np.eye(3), t, pts, [{"R": np.eye(3), "t": np.zeros((3, 1))}]))

    mssd, mspd, plain = scores(1, _turn_z(90) @ trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])[:3, :3])
    assert mssd < 1e-6 and mspd < 1e-6 and plain > 200, "a cube turned by quarter turns is the same cube"
    mssd, _, _ = scores(1, _turn_z(45))
    assert mssd > 50, "an eighth turn is not a symmetry of a cube"
    # The toolkit discretises a continuous symmetry into steps of max_sym_disc_step * diameter.
    mssd, _, plain = scores(2, _turn_z(37))
    assert mssd < 0.01 * info[2]["diameter"] and plain > 50
    mssd, _, _ = scores(2, trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])[:3, :3])
    assert mssd > 50, "a cylinder lying on its side is not the standing one"
    mssd, _, plain = scores(3, trimesh.transformations.rotation_matrix(np.pi, [1, 0, 0], [50, 0, 0])[:3, :3])
    assert mssd < 1e-4 and plain > 50, "the box's declared half turn"


# Run apart: the toolkit's vispy renderer opens its own EGL display (surfaceless Mesa).
RENDER_MASKS = """
import json, sys
from pathlib import Path
from bop_toolkit_lib import inout
from bop_toolkit_lib.rendering import renderer
root = Path(sys.argv[1])
w, h = inout.load_cam_params(root / "camera.json")["im_size"]
ren = renderer.create_renderer(3 * w, 3 * h, "vispy", mode="depth")  # calc_gt_info's 3x canvas
for obj_id in inout.load_json(root / "models" / "models_info.json", keys_to_int=True):
    ren.add_object(obj_id, str(root / "models" / f"obj_{obj_id:06d}.ply"))
scene = root / "train_pbr" / "000000"
cameras = inout.load_scene_camera(scene / "scene_camera.json")
diffs = {"0.0": [], "0.5": []}
for im_id, gts in inout.load_scene_gt(scene / "scene_gt.json").items():
    K = cameras[im_id]["cam_K"]
    for gt_id, gt in enumerate(gts):
        ours = inout.load_im(scene / "mask" / f"{im_id:06d}_{gt_id:06d}.png") > 0
        for shift in diffs:
            depth = ren.render_object(gt["obj_id"], gt["cam_R_m2c"], gt["cam_t_m2c"], K[0, 0], K[1, 1],
                                      K[0, 2] + float(shift) + w, K[1, 2] + float(shift) + h)["depth"]
            diffs[shift].append(int(((depth[h:2 * h, w:2 * w] > 0) != ours).sum()))
print(json.dumps(diffs))
"""


def test_toolkit_renderer_reproduces_the_full_masks_half_a_pixel_over(dataset, toolkit):
    if importlib.util.find_spec("vispy") is None:
        pytest.skip("vispy is not installed (the BOP toolkit's renderer)")
    env = {**os.environ, "EGL_PLATFORM": "surfaceless", "PYOPENGL_PLATFORM": "egl"}
    proc = subprocess.run([sys.executable, "-c", RENDER_MASKS, str(dataset / "bop")], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    diffs = json.loads(proc.stdout.splitlines()[-1])
    assert len(diffs["0.0"]) >= 8
    assert all(d > 0 for d in diffs["0.0"]), "cam_K as given: every mask half a pixel off"
    assert max(diffs["0.5"]) <= 1 and sum(d == 0 for d in diffs["0.5"]) >= 0.9 * len(diffs["0.5"])


SEQUENCE_CONFIG = {
    "image": {"width": 64, "height": 48},
    "objects": {"count": {"uniform": [2, 3]}, "primitive_size_m": 0.25,
                "assets": [{"primitive": "cube"}, {"primitive": "torus"}]},
    "sequence": {"frames_per_sequence": 3, "camera_motion": "orbit"},
    "output": {"formats": ["coco", "bop"], "image_format": "png"},
}


def _in_world(camera: dict, gt: dict) -> np.ndarray:
    """An object's 4x4 pose in the world (mm) from its BOP cam_R/t_m2c and the image's cam_R/t_w2c."""
    def rigid(R, t):
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = np.reshape(R, (3, 3)), t
        return T
    return np.linalg.inv(rigid(camera["cam_R_w2c"], camera["cam_t_w2c"])) @ rigid(gt["cam_R_m2c"], gt["cam_t_m2c"])


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_sequence_frames_share_one_scene_folder_whatever_the_worker_count(tmp_path):
    outs = [tmp_path / f"w{workers}" for workers in (1, 2)]
    for out, workers in zip(outs, (1, 2)):
        assert vizsynth.generate(SEQUENCE_CONFIG, out, num_frames=6, seed=4, workers=workers, progress=False).ok
    root = outs[0] / "bop"
    assert sorted(p.name for p in (root / "train_pbr").iterdir()) == ["000000", "000001"]
    for s in (0, 1):
        scene = root / "train_pbr" / f"{s:06d}"
        cameras = json.loads((scene / "scene_camera.json").read_text())
        assert sorted(cameras, key=int) == ["0", "1", "2"]
        assert sorted(p.name for p in (scene / "rgb").iterdir()) == ["000000.png", "000001.png", "000002.png"]
        for t in range(3):  # frame s * 3 + t of the dataset
            record = json.loads(next((outs[0] / "frames").rglob(f"*{s * 3 + t:08d}.json")).read_text())
            assert record["sequence"]["sequence"] == s and record["sequence"]["t"] == t
            assert cameras[str(t)]["cam_K"] == np.ravel(record["camera"]["K"]).tolist()
            image = outs[0] / "images" / record["record"]["image_file"]
            assert (scene / "rgb" / f"{t:06d}.png").read_bytes() == image.read_bytes()
        # One static scene seen from an orbiting camera: the objects' poses in the world stay.
        assert cameras["0"]["cam_R_w2c"] != cameras["2"]["cam_R_w2c"]
        gts = json.loads((scene / "scene_gt.json").read_text())
        for a, b in zip(gts["0"], gts["2"]):
            assert np.allclose(_in_world(cameras["0"], a), _in_world(cameras["2"], b), atol=1e-6)
    assert "one scene per sequence" in json.loads((root / "dataset_info.json").read_text())["scenes"]
    assert _tree(root) == _tree(outs[1] / "bop")
