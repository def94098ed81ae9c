"""Optical flow: analytic oracles, consistency with the written depth, K and recorded poses (the
kubric#301 check), forward-backward consistency, occlusion against a depth-test oracle, and
determinism (a frame alone == the frame within its sequence; 1 vs 2 workers)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import vizsynth
from tests.helpers import camera, child_env
from vizsynth.annotate.flow import measure_flow, occlusion, unproject
from vizsynth.config import load_config
from vizsynth.io.files import frame_stem, record_path
from vizsynth.io.flow import decode_flo, decode_kitti
from vizsynth.motion import scene_at
from vizsynth.scene import CameraMotionSpec, ObjectMotionSpec, ObjectSpec, SceneSpec, SequenceSpec, load_scene

pytestmark = pytest.mark.gl  # renders

W, H = 64, 48
K = np.array([[60.0, 0.0, 31.5], [0.0, 60.0, 23.5], [0.0, 0.0, 1.0]])
T = 4
CONFIG = {
    "image": {"width": W, "height": H},
    "objects": {"count": 4, "placement": "flying", "flying_depth_m": {"uniform": [0.7, 1.1]}},
    "material": {"texture_probability": 1.0, "textures": ["checker", "noise"]},
    "background": {"floor": True},
    "render": {"antialias": False},
    "sequence": {"frames_per_sequence": T, "camera_motion": "orbit", "orbit_deg_per_s": {"uniform": [20, 40]},
                 "object_motion": "constant", "object_angular_speed_deg_per_s": {"uniform": [30, 120]},
                 "flow": True, "scene_flow": True},
}


def _moving_scene(obj: ObjectSpec, motion: ObjectMotionSpec, fps: float = 1.0) -> SceneSpec:
    """A scene whose world frame is the camera frame, one moving object, a still camera."""
    return SceneSpec(camera=camera(K, W, H), objects=(obj,), lights=(),
                     sequence=SequenceSpec(0, 0, 2, fps, CameraMotionSpec("static"), (motion,)))


def _flow(renderer, spec, t_other=1):
    other = scene_at(spec, t_other)
    result = renderer.render(spec)
    _, other_depth = renderer.labels(other)
    maps = measure_flow(spec.camera, result.depth_m, result.instance_ids, renderer.flow(spec, other), other.camera,
                        other_depth, 0.01)
    return result, maps


def test_plane_translating_parallel_to_the_image_has_flow_f_dx_over_z(renderer):
    size, z_centre, dx = 0.6, 2.0, 0.04
    pose = np.eye(4)
    pose[:3, 3] = [0.0, 0.0, z_centre]
    cube = ObjectSpec(1, "cube", "cube", None, size, pose)
    result, maps = _flow(renderer, _moving_scene(cube, ObjectMotionSpec(1, (dx, 0.0, 0.0), (0.0, 0.0, 0.0))))
    face = maps.valid & (result.instance_ids == 1)
    assert face.sum() > 200  # the front face z = z_centre - size / 2 fills the middle of the image
    z = z_centre - size / 2
    assert np.allclose(result.depth_m[face], z, atol=1e-4)
    assert np.abs(maps.flow_px[face][:, 0] - K[0, 0] * dx / z).max() < 0.01
    assert np.abs(maps.flow_px[face][:, 1]).max() < 0.01
    assert not maps.occluded.any()


def test_rotating_cube_faces_move_as_their_corners_projections(renderer):
    size = 0.5
    pose = np.eye(4)
    pose[:3, :3] = cv2.Rodrigues(np.array([0.5, -0.6, 0.2]))[0]
    pose[:3, 3] = [0.05, -0.02, 1.6]
    omega = (15.0, -25.0, 10.0)  # deg/s; fps 1: one step turns this many degrees
    spec = _moving_scene(ObjectSpec(1, "cube", "cube", None, size, pose), ObjectMotionSpec(1, (0.01, 0.02, 0.0), omega))
    result, maps = _flow(renderer, spec)
    moved = scene_at(spec, 1).objects[0].obj_to_world
    # Which face each pixel sees: the object-frame axis its surface point lies furthest along.
    local = (np.linalg.inv(pose) @ np.c_[unproject(result.depth_m, K).reshape(-1, 3), np.ones(H * W)].T).T[:, :3]
    seen = maps.valid.reshape(-1)
    checked = 0
    for axis in range(3):
        for sign in (-1.0, 1.0):
            on_face = seen & (np.argmax(np.abs(local), axis=1) == axis) & (np.sign(local[:, axis]) == sign)
            if on_face.sum() < 20:
                continue
            corners = np.array([[a, b] for a in (-1, 1) for b in (-1, 1)], float) * size / 2
            face = np.insert(corners, axis, sign * size / 2, axis=1)  # the face's 4 corners, object frame
            before = _project(pose, face)
            after = _project(moved, face)
            homography = cv2.getPerspectiveTransform(before.astype(np.float32), after.astype(np.float32))
            v, u = np.divmod(np.flatnonzero(on_face), W)
            expected = cv2.perspectiveTransform(np.c_[u, v].astype(np.float64)[None], homography)[0] - np.c_[u, v]
            error = np.abs(maps.flow_px.reshape(-1, 2)[on_face] - expected)
            assert error.max() < 0.01, (axis, sign, error.max())
            checked += on_face.sum()
    assert checked > 300


def _project(obj_to_cam, points):
    cam = points @ obj_to_cam[:3, :3].T + obj_to_cam[:3, 3]
    return np.c_[K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2], K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("flow") / "out"
    summary = vizsynth.generate(CONFIG, out, num_frames=T, seed=3, progress=False)
    assert summary.ok
    return out


def _frame(out: Path, index: int) -> dict:
    record = json.loads(record_path(out, index).read_text())
    meta = record["record"]
    stem = frame_stem(index)

    def read(folder: str) -> np.ndarray:
        return cv2.imread(str(out / folder / f"{stem}.png"), cv2.IMREAD_UNCHANGED)

    frame = {"record": record, "depth": read("depth").astype(np.float64) * meta["depth_scale_m"],
             "ids": read("instances"), "spec": load_scene(record_path(out, index))}
    for d in ("forward", "backward"):
        frame[d] = decode_flo((out / f"flow_{d}" / meta[f"flow_{d}_file"]).read_bytes())
        frame[f"{d}_kitti"] = decode_kitti(read(f"flow_{d}"))
        frame[f"{d}_occluded"] = read(f"flow_{d}_occlusion") > 0
        frame[f"{d}_scene"] = np.load(out / f"scene_flow_{d}" / meta[f"scene_flow_{d}_file"])
    return frame


def _oracle(a: dict, b: dict):
    """Frame a's pixels moved to frame b by the recorded poses: (uv (H, W, 2), z (H, W), point at b (H, W, 3))."""
    spec_a, spec_b = a["spec"], b["spec"]
    points = unproject(a["depth"], np.array(a["record"]["camera"]["K"]))
    moved = np.zeros_like(points)
    poses_b = {o.instance_id: spec_b.obj_to_cam(o) for o in spec_b.objects}
    for obj in spec_a.objects:
        mask = a["ids"] == obj.instance_id
        step = poses_b[obj.instance_id] @ np.linalg.inv(spec_a.obj_to_cam(obj))
        moved[mask] = points[mask] @ step[:3, :3].T + step[:3, 3]
    Kb = spec_b.camera.K
    z = np.where(moved[..., 2] > 0, moved[..., 2], 1.0)
    uv = np.stack([Kb[0, 0] * moved[..., 0] / z + Kb[0, 2], Kb[1, 1] * moved[..., 1] / z + Kb[1, 2]], axis=-1)
    return uv, moved[..., 2], moved


def test_written_flow_equals_depth_k_and_recorded_poses(dataset):
    frames = [_frame(dataset, i) for i in range(T)]
    errors, scene_errors = [], []
    for direction, step in (("forward", 1), ("backward", -1)):
        for t in range(T):
            flow, valid = frames[t][direction]
            if not 0 <= t + step < T:
                assert not valid.any()
                continue
            assert valid.mean() > 0.5  # the floor fills the background: most pixels have flow
            uv, _, moved = _oracle(frames[t], frames[t + step])
            grid = np.stack(np.meshgrid(np.arange(W), np.arange(H)), axis=-1)
            errors.append(np.linalg.norm(flow[valid] - (uv - grid)[valid], axis=-1))
            points = unproject(frames[t]["depth"], frames[t]["spec"].camera.K)
            scene_errors.append(np.abs(frames[t][f"{direction}_scene"][valid] - (moved - points)[valid]).max())
            kitti, kitti_valid = frames[t][f"{direction}_kitti"]
            assert np.array_equal(kitti_valid, valid) and np.abs(kitti - flow)[valid].max() <= 0.5 / 64 + 1e-6
    errors = np.concatenate(errors)
    assert np.median(errors) < 0.01 and np.percentile(errors, 99) < 0.05, (np.median(errors), np.percentile(errors, 99))
    assert max(scene_errors) < 0.002  # the written depth is rounded to 1 mm


def _bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    x0, y0 = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
    fx, fy = (uv[:, 0] - x0)[:, None], (uv[:, 1] - y0)[:, None]
    x1, y1 = np.minimum(x0 + 1, image.shape[1] - 1), np.minimum(y0 + 1, image.shape[0] - 1)
    return (image[y0, x0] * (1 - fx) * (1 - fy) + image[y0, x1] * fx * (1 - fy)
            + image[y1, x0] * (1 - fx) * fy + image[y1, x1] * fx * fy)


def test_forward_then_backward_flow_returns_to_the_pixel(dataset):
    residuals = []
    for t in range(T - 1):
        a, b = _frame(dataset, t), _frame(dataset, t + 1)
        flow, valid = a["forward"]
        back, back_valid = b["backward"]
        v, u = np.nonzero(valid & ~a["forward_occluded"])
        target = np.c_[u, v] + flow[v, u]
        x0, y0 = np.floor(target[:, 0]).astype(int), np.floor(target[:, 1]).astype(int)
        inside = (x0 >= 0) & (y0 >= 0) & (x0 < W - 1) & (y0 < H - 1)
        target, x0, y0, v, u = target[inside], x0[inside], y0[inside], v[inside], u[inside]
        # Only where the backward flow is valid and of the same object at all four neighbours.
        same = np.ones(len(u), bool)
        for dy in (0, 1):
            for dx in (0, 1):
                same &= back_valid[y0 + dy, x0 + dx] & (b["ids"][y0 + dy, x0 + dx] == a["ids"][v, u])
        residuals.append(np.linalg.norm(flow[v, u][same] + _bilinear(back, target[same]), axis=-1))
    residuals = np.concatenate(residuals)
    assert len(residuals) > 1000 and np.median(residuals) < 0.05


def test_occlusion_masks_agree_with_a_depth_test_oracle(dataset):
    occluded_total, disagree, checked = 0, 0, 0
    for direction, step in (("forward", 1), ("backward", -1)):
        for t in range(max(0, -step), T - max(0, step)):
            a, b = _frame(dataset, t), _frame(dataset, t + step)
            _, valid = a[direction]
            uv, z, _ = _oracle(a, b)
            expected = occlusion(uv, z, b["depth"], 0.01) & valid
            written = a[f"{direction}_occluded"]
            assert not (written & ~valid).any()
            disagree += (expected != written)[valid].sum()
            occluded_total += written.sum()
            checked += valid.sum()
    assert occluded_total > 20  # the test sees occlusions at all
    assert disagree <= 0.002 * checked


def test_a_frame_rendered_alone_equals_it_within_its_sequence(dataset, tmp_path):
    from vizsynth.io.frame_writer import write_frame
    from vizsynth.pipeline import FrameRenderer

    config = load_config(CONFIG)
    with FrameRenderer(config, 3) as frames:
        write_frame(tmp_path, frames.frame(2), config.output, {"vizsynth_version": vizsynth.__version__,
                                                                         "seed": 3, "tries": 1})
        replayed = frames.render_scene(load_scene(record_path(dataset, 2)), 2)
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file()):
        assert path.read_bytes() == (dataset / path.relative_to(tmp_path)).read_bytes(), path
    # Replaying the record: the neighbours come from the recorded motion, so the flow is the same.
    written_flow, written_valid = _frame(dataset, 2)["forward"]
    assert np.array_equal(written_valid, replayed.flow["forward"].valid)
    assert np.array_equal(written_flow, replayed.flow["forward"].flow_px)


def test_one_and_two_workers_write_the_same_bytes(dataset, tmp_path):
    out = tmp_path / "two"
    assert vizsynth.generate(CONFIG, out, num_frames=T, seed=3, workers=2, progress=False).ok
    files = sorted(p.relative_to(dataset) for p in dataset.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert files == sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    for name in files:
        assert (dataset / name).read_bytes() == (out / name).read_bytes(), name


# Static lighting: no lights, full ambient, so a surface point's colour is its texture's whatever the
# motion (no shading, highlights or shadows that move); a fine noise texture on every object gives
# pixel-scale gradients, so a flow off by one pixel picks visibly different colours.
WARP_W, WARP_H = 96, 72
WARP_CONFIG = {
    "image": {"width": WARP_W, "height": WARP_H},
    "objects": {"count": 5, "primitive_size_m": {"uniform": [0.25, 0.4]}, "placement": "flying",
                "flying_depth_m": {"uniform": [0.7, 1.1]}},
    "material": {"texture_probability": 1.0, "textures": ["noise"]},
    "lights": {"count": 0, "ambient": [1.0, 1.0, 1.0]},
    "background": {"floor": True},
    "render": {"antialias": False},
    "sequence": {"frames_per_sequence": 3, "camera_motion": "orbit", "orbit_deg_per_s": {"uniform": [20, 40]},
                 "object_motion": "constant", "object_angular_speed_deg_per_s": {"uniform": [30, 120]},
                 "flow": True},
}


def _interior(ids: np.ndarray) -> np.ndarray:
    """(H, W) bool: the 3x3 neighbourhood holds one instance id only (away from object boundaries)."""
    kernel = np.ones((3, 3), np.uint8)
    return cv2.dilate(ids, kernel) == cv2.erode(ids, kernel)


def test_warping_the_next_frame_by_the_flow_reproduces_the_frame():
    from vizsynth.pipeline import FrameRenderer

    with FrameRenderer(load_config(WARP_CONFIG), 3) as frames:
        a, b = frames.frame(0), frames.frame(1)
    flow = a.flow["forward"]
    grid = np.stack(np.meshgrid(np.arange(WARP_W), np.arange(WARP_H)), axis=-1).astype(np.float32)
    target = grid + flow.flow_px
    floor = [o.instance_id for o in a.spec.objects if o.primitive == "floor"]
    # Textured objects only (the floor is one flat colour: it would match at any shift), seen at both
    # times away from any edge, so bilinear sampling of frame t+1 stays on the same surface.
    tx = np.clip(np.rint(target[..., 0]).astype(int), 0, WARP_W - 1)
    ty = np.clip(np.rint(target[..., 1]).astype(int), 0, WARP_H - 1)
    compared = (flow.valid & ~flow.occluded & ~np.isin(a.instance_ids, floor) & _interior(a.instance_ids)
                & _interior(b.instance_ids)[ty, tx] & (b.instance_ids[ty, tx] == a.instance_ids))
    assert compared.sum() > 1000
    assert np.abs(flow.flow_px[compared]).max() > 0.5  # things move: the zero flow would not do

    def error_p90(shift_px: tuple[float, float]) -> float:
        where = target + np.array(shift_px, np.float32)
        warped = cv2.remap(b.rgb.astype(np.float32), where[..., 0], where[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        error = np.abs(warped - a.rgb.astype(np.float32)).max(axis=-1)[compared]
        return float(np.percentile(error, 90))

    exact = error_p90((0.0, 0.0))
    assert exact < 3.0, exact  # grey levels of 255
    # The oracle can tell: the same flow off by one pixel in any direction misses clearly.
    for shift in ((1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)):
        shifted = error_p90(shift)
        assert shifted > 3.0 and shifted > 2.5 * exact, (shift, shifted, exact)


def test_killed_sequence_job_resumes_to_the_uninterrupted_result(dataset, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    root = Path(__file__).resolve().parents[1]
    out, config = tmp_path / "data", tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    cmd = [sys.executable, "-m", "vizsynth", "generate", str(config), "--out", str(out), "-n", str(T), "--seed", "3",
           "--workers", "1", "--no-progress"]
    env = child_env()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root, env=env)
    deadline = time.monotonic() + 120
    while not list((out / "frames").rglob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((out / "frames").rglob("*.json")))
    assert 1 <= done < T, "killed part-way, or the test means nothing"
    # What a kill can leave behind in a flow folder: a half-written file.
    (out / "flow_forward" / "00000").mkdir(parents=True, exist_ok=True)
    (out / "flow_forward" / "00000" / f".tmp-123-{T - 1:08d}.flo").write_bytes(b"PIEH")
    # Resumed in this process (the CLI's --resume is this call): one interpreter start-up less.
    assert vizsynth.generate(CONFIG, out, num_frames=T, seed=3, resume=True, progress=False).ok

    def tree(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes()
                for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}

    resumed = tree(out)
    assert any(name.startswith("flow_backward/") for name in resumed)
    assert resumed == tree(dataset)


def test_sequence_preview_gif_has_a_frame_per_time_with_image_flow_and_tracks(dataset, tmp_path, capsys):
    from PIL import Image

    from vizsynth.cli import main
    from vizsynth.io.flow import flow_colours
    from vizsynth.io.video_preview import sequence_frames

    gap = 2
    frames, fps = sequence_frames(dataset, 0)
    assert len(frames) == T and fps == 24.0
    # The middle panel is each frame's forward flow in the wheel, one scale for the whole sequence.
    flows = [_frame(dataset, t)["forward"] for t in range(T)]
    top = max(np.hypot(f[..., 0], f[..., 1])[valid].max() for f, valid in flows if valid.any())
    for t, (frame, flow) in enumerate(zip(frames, flows)):
        assert frame.shape == (H, 3 * W + 2 * gap, 3)
        assert np.array_equal(frame[:, W + gap:2 * W + gap], flow_colours(*flow, max_px=top))
        image = cv2.imread(str(dataset / "images" / _frame(dataset, t)["record"]["record"]["image_file"]))[..., ::-1]
        assert np.array_equal(frame[:H - 10, :W], image[:H - 10])  # the image, its frame number at the bottom
        assert (np.abs(frame[:, -W:].astype(int) - image).max(axis=-1) > 60).sum() > 20  # boxes drawn on it
    assert not flows[-1][1].any() and not frames[-1][:, W + gap:2 * W + gap].any()  # the last: no forward flow

    out = tmp_path / "seq.gif"
    assert main(["preview-sequence", str(dataset), "--sequence", "0", "--out", str(out)]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == T and gif.size == (3 * W + 2 * gap, H)
        for t in range(T):
            gif.seek(t)
            shown = np.asarray(gif.convert("RGB")).astype(int)
            assert np.median(np.abs(shown - frames[t]).max(axis=-1)) <= 8  # GIF: 256 colours per frame

    assert main(["preview-sequence", str(dataset), "--sequence", "1", "--out", str(out)]) == 2
    assert "sequence 1 has no rendered frame" in capsys.readouterr().err
    assert main(["preview-sequence", str(dataset), "--out", str(tmp_path / "seq.png")]) == 2


def test_sequence_preview_mp4_reads_back_with_t_frames(dataset, tmp_path):
    from vizsynth.cli import main

    if not cv2.VideoWriter(str(tmp_path / "probe.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (8, 8)).isOpened():
        pytest.skip("this OpenCV build has no mp4v encoder")
    out = tmp_path / "seq.mp4"
    assert main(["preview-sequence", str(dataset), "--out", str(out), "--scale", "2"]) == 0
    video = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == T and frames[0].shape == (2 * H, 2 * (3 * W + 4), 3)
