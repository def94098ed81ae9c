"""Flow files: .flo and KITTI PNG round trips, the colour wheel's directions, the completeness check."""

from __future__ import annotations

import cv2
import numpy as np

from vizsynth.annotate.flow import FlowMaps
from vizsynth.io.flow import (
    decode_flo,
    decode_kitti,
    encode_flo,
    encode_kitti,
    flow_colours,
    whole_float_file,
    write_flow,
)


def _maps(rng):
    flow = rng.uniform(-600, 600, size=(5, 7, 2)).astype(np.float32)
    valid = rng.uniform(size=(5, 7)) < 0.7
    return flow, valid


def test_flo_round_trips_exactly_and_marks_invalid_pixels():
    flow, valid = _maps(np.random.default_rng(0))
    back, back_valid = decode_flo(encode_flo(flow, valid))
    assert np.array_equal(back_valid, valid) and np.array_equal(back[valid], flow[valid])


def test_kitti_png_keeps_1_64_px_and_drops_what_16_bits_cannot_hold():
    flow, valid = _maps(np.random.default_rng(1))
    ok, png = cv2.imencode(".png", encode_kitti(flow, valid))
    back, back_valid = decode_kitti(cv2.imdecode(png, cv2.IMREAD_UNCHANGED))
    fits = valid & (np.abs(flow) < 511).all(axis=-1)
    assert np.array_equal(back_valid, fits) and np.abs(back - flow)[fits].max() <= 0.5 / 64


def test_colour_wheel_red_is_plus_x_and_invalid_is_black():
    flow = np.array([[[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]]], np.float32)
    colours = flow_colours(flow, np.array([[True, True, False]]), max_px=1.0)
    assert tuple(colours[0, 0]) == (255, 0, 0) and colours[0, 1, 2] < colours[0, 1, 1]
    assert tuple(colours[0, 2]) == (0, 0, 0)


def test_truncated_flow_files_are_not_whole(tmp_path):
    flow, valid = _maps(np.random.default_rng(2))
    maps = FlowMaps(flow, valid, np.zeros_like(valid), np.zeros((5, 7, 3), np.float32))
    files = write_flow(tmp_path, "00000/00000000", {"forward": maps, "backward": maps})
    flo = tmp_path / "flow_forward" / files["flow_forward_file"]
    npy = tmp_path / "scene_flow_forward" / files["scene_flow_forward_file"]
    assert whole_float_file(flo) and whole_float_file(npy) and np.load(npy).shape == (5, 7, 3)
    for path in (flo, npy):
        path.write_bytes(path.read_bytes()[:-1])
        assert not whole_float_file(path)
