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


# Middlebury wheel: a direction's place on the wheel (the flow's angle, measured as the Middlebury
# code does: atan2(-v, -u), -pi..pi over 55 colours) and the hue each of its 6 ramps spans, from red
# (0 deg) through yellow, green, cyan, blue, magenta back to red (360 deg).
_RAMP_ENDS = np.array([0, 15, 21, 25, 36, 49, 55])
_RAMP_HUES = np.array([0, 60, 120, 180, 240, 300, 360])


def _expected_hue_deg(u: float, v: float) -> float:
    place = (np.arctan2(-v, -u) / np.pi + 1.0) / 2.0 * 54
    return float(np.interp(place, _RAMP_ENDS, _RAMP_HUES)) % 360.0


def _hsv(rgb) -> tuple[float, float, float]:
    import colorsys

    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    return h * 360.0, s, v


def test_colour_wheel_hue_follows_the_flow_angle_and_saturation_its_length():
    angles = np.deg2rad(np.arange(-170.0, 180.0, 20.0))
    for length in (1.0, 0.5):
        flow = np.stack([np.cos(angles), np.sin(angles)], axis=-1)[None].astype(np.float32) * length * 4.0
        colours = flow_colours(flow, np.ones(flow.shape[:2], bool), max_px=4.0)[0]
        for (u, v), rgb in zip(flow[0], colours):
            hue, saturation, value = _hsv(rgb)
            difference = (hue - _expected_hue_deg(u, v) + 180.0) % 360.0 - 180.0
            # uint8 rounding moves the hue more when the colour is pale.
            assert abs(difference) < 2.0 / length, (u, v, tuple(rgb), hue, _expected_hue_deg(u, v))
            assert abs(saturation - length) < 0.01 and value > 0.99
    # The conventions of the Middlebury images: right red, down yellow, left cyan-blue, up violet.
    named = flow_colours(np.array([[[1, 1e-6], [0, 1], [-1, 0], [0, -1]]], np.float32), np.ones((1, 4), bool), 1.0)
    right, down, left, up = ((_hsv(c)[0] + 20.0) % 360.0 - 20.0 for c in named[0])
    assert abs(right) < 5 and 40 < down < 70 and 170 < left < 210 and 250 < up < 290, (right, down, left, up)
