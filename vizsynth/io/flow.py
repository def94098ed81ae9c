"""Optical flow on disk: Middlebury ``.flo``, KITTI 16-bit PNG, occlusion masks, scene flow ``.npy``.

Per frame and direction (``forward``: t -> t+1, ``backward``: t -> t-1), beside the frame's other files:

    flow_{direction}/{stem}.flo            Middlebury: b"PIEH", int32 width, height, float32 (u, v) rows;
                                           not valid: both 1e10 (Middlebury's unknown: > 1e9)
    flow_{direction}/{stem}.png            KITTI: uint16 RGB, R = u * 64 + 2**15, G = v * 64 + 2**15,
                                           B = 1 where valid (|u|, |v| beyond 511.98 px: not valid here)
    flow_{direction}_occlusion/{stem}.png  uint8, 255 where the point is hidden at the other frame
    scene_flow_{direction}/{stem}.npy      float32 (H, W, 3), metres, when sequence.scene_flow is on
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vizsynth.annotate.flow import FlowMaps
from vizsynth.io.files import write_bytes_atomic
from vizsynth.maps import FLOW_DIRECTIONS, FLOW_FOLDERS, FLOW_RECORD_FILES  # noqa: F401 (re-exported)

DIRECTIONS = FLOW_DIRECTIONS
FLO_TAG = b"PIEH"
FLO_UNKNOWN = 1e10
KITTI_SCALE = 64.0
KITTI_OFFSET = 2.0**15
_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def encode_flo(flow_px: np.ndarray, valid: np.ndarray) -> bytes:
    """Middlebury .flo bytes of (H, W, 2) flow; pixels not valid get FLO_UNKNOWN."""
    height, width = valid.shape
    data = flow_px.astype(np.float32).copy()
    data[~valid] = FLO_UNKNOWN
    return FLO_TAG + np.array([width, height], "<i4").tobytes() + data.astype("<f4").tobytes()


def decode_flo(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """((H, W, 2) float32 flow, (H, W) bool valid) of .flo bytes (valid: both values <= 1e9)."""
    if data[:4] != FLO_TAG:
        raise ValueError("not a Middlebury .flo file (no PIEH tag)")
    width, height = np.frombuffer(data[4:12], "<i4")
    flow = np.frombuffer(data[12:], "<f4").reshape(height, width, 2).astype(np.float32)
    valid = (np.abs(flow) <= 1e9).all(axis=-1)
    return np.where(valid[..., None], flow, 0.0).astype(np.float32), valid


def encode_kitti(flow_px: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint16 KITTI flow image in OpenCV's BGR order (B = valid, G = v, R = u).

    Flow beyond the 16-bit range (±511.98 px) cannot be stored: those pixels are written not valid.
    """
    units = np.rint(flow_px.astype(np.float64) * KITTI_SCALE + KITTI_OFFSET)
    fits = valid & (units >= 0).all(axis=-1) & (units <= 65535).all(axis=-1)
    units[~fits] = KITTI_OFFSET
    return np.dstack([fits.astype(np.uint16), units[..., 1].astype(np.uint16), units[..., 0].astype(np.uint16)])


def decode_kitti(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((H, W, 2) float32 flow, (H, W) bool valid) of a KITTI flow PNG read by OpenCV (IMREAD_UNCHANGED)."""
    valid = bgr[..., 0] > 0
    flow = (np.dstack([bgr[..., 2], bgr[..., 1]]).astype(np.float64) - KITTI_OFFSET) / KITTI_SCALE
    flow[~valid] = 0.0
    return flow.astype(np.float32), valid


def _png(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image, _PNG)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a PNG of shape {image.shape}")
    return buffer.tobytes()


def _npy(array: np.ndarray) -> bytes:
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple(array.shape)}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"  # NPY 1.0: header padded to 64 bytes
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + \
        array.astype("<f4").tobytes()


def write_flow(out_dir: Path, stem: str, flow: dict[str, FlowMaps]) -> dict[str, str]:
    """Writes each direction's flow files (atomically); returns their record keys -> file names."""
    files = {}
    for direction in DIRECTIONS:
        maps = flow[direction]
        folder = out_dir / f"flow_{direction}"
        write_bytes_atomic(folder / f"{stem}.flo", encode_flo(maps.flow_px, maps.valid))
        write_bytes_atomic(folder / f"{stem}.png", _png(encode_kitti(maps.flow_px, maps.valid)))
        occluded = (maps.occluded * 255).astype(np.uint8)
        write_bytes_atomic(out_dir / f"flow_{direction}_occlusion" / f"{stem}.png", _png(occluded))
        files.update({f"flow_{direction}_file": f"{stem}.flo", f"flow_{direction}_kitti_file": f"{stem}.png",
                      f"flow_{direction}_occlusion_file": f"{stem}.png"})
        if maps.scene_flow_m is not None:
            write_bytes_atomic(out_dir / f"scene_flow_{direction}" / f"{stem}.npy", _npy(maps.scene_flow_m))
            files[f"scene_flow_{direction}_file"] = f"{stem}.npy"
    return files


def whole_float_file(path: Path) -> bool:
    """Whether a .flo or .npy file is complete: its size is what its header says (nothing decoded)."""
    with open(path, "rb") as f:
        head = f.read(128)
        size = f.seek(0, 2)
    if path.suffix == ".flo":
        if len(head) < 12 or head[:4] != FLO_TAG:
            return False
        width, height = np.frombuffer(head[4:12], "<i4")
        return size == 12 + 8 * int(width) * int(height)
    if path.suffix == ".npy" and head[:6] == b"\x93NUMPY" and len(head) >= 10:
        header_len = int.from_bytes(head[8:10], "little")
        shape_text = head[10:10 + header_len].decode("latin1").split("'shape': (")[-1].split(")")[0]
        count = int(np.prod([int(n) for n in shape_text.split(",") if n.strip()]))
        return size == 10 + header_len + 4 * count
    return False


def _colour_wheel() -> np.ndarray:
    """(55, 3) float RGB of the Middlebury flow colour wheel (Baker et al. 2011; red = +x, as in
    the Middlebury and flow_vis code): red-yellow-green-cyan-blue-magenta, hue steps as there."""
    steps = ((15, (255, 0, 0), (255, 255, 0)), (6, (255, 255, 0), (0, 255, 0)), (4, (0, 255, 0), (0, 255, 255)),
             (11, (0, 255, 255), (0, 0, 255)), (13, (0, 0, 255), (255, 0, 255)), (6, (255, 0, 255), (255, 0, 0)))
    rows = [np.array(a) + (np.array(b) - np.array(a)) * (i / n) for n, a, b in steps for i in range(n)]
    return np.array(rows, dtype=np.float64)


def flow_colours(flow_px: np.ndarray, valid: np.ndarray, max_px: float | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB colour coding of flow: hue = direction (Middlebury wheel), saturation =
    length / ``max_px`` (default: the largest valid length); black where not valid."""
    wheel = _colour_wheel()
    u, v = flow_px[..., 0].astype(np.float64), flow_px[..., 1].astype(np.float64)
    length = np.hypot(u, v)
    top = max_px if max_px is not None else (length[valid].max() if valid.any() else 1.0)
    radius = np.clip(length / max(top, 1e-9), 0.0, 1.0)
    angle = np.arctan2(-v, -u) / np.pi  # -1..1, as the Middlebury code
    position = (angle + 1.0) / 2.0 * (len(wheel) - 1)
    k0 = np.floor(position).astype(int)
    k1 = (k0 + 1) % len(wheel)
    f = (position - k0)[..., None]
    colour = (1 - f) * wheel[k0] / 255.0 + f * wheel[k1] / 255.0
    colour = 1.0 - radius[..., None] * (1.0 - colour)
    out = np.rint(colour * 255.0).astype(np.uint8)
    out[~valid] = 0
    return out
