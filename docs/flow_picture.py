"""Makes docs/config_flow.jpg: frames of one configs/flow.yaml sequence with their tracks (box,
id and the path of the box centre so far) beside their forward flow, colour-coded with the
Middlebury wheel (black: no valid flow).

    python docs/flow_picture.py [OUT_DIR]   (renders 12 frames of sequence 0 into OUT_DIR first)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

import vizsynth
from vizsynth.io.files import record_path
from vizsynth.io.flow import decode_flo, flow_colours

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 12
SHOWN = (0, 5, 10)


def _colour(track: int) -> tuple[int, int, int]:
    hue = int((track * 0.618034 % 1.0) * 180)
    return tuple(int(c) for c in cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0])


def main(out: Path) -> None:
    if not (out / "manifest.json").exists():
        vizsynth.generate(ROOT / "configs" / "flow.yaml", out, num_frames=FRAMES, seed=0, workers=2)
    records = [json.loads(record_path(out, i).read_text()) for i in range(FRAMES)]
    paths: dict[int, list] = {}
    rows = []
    for t, record in enumerate(records):
        for ann in record["record"]["annotations"]:
            if ann["area"]:
                x, y, w, h = ann["bbox"]
                paths.setdefault(ann["instance_id"], []).append((t, (int(x + w / 2), int(y + h / 2))))
        if t not in SHOWN:
            continue
        meta = record["record"]
        image = cv2.imread(str(out / "images" / meta["image_file"]))
        for ann in meta["annotations"]:
            if not ann["area"]:
                continue
            colour = _colour(ann["instance_id"])
            x, y, w, h = ann["bbox"]
            cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), colour, 1)
            trail = [p for s, p in paths[ann["instance_id"]] if s <= t]
            cv2.polylines(image, [np.array(trail, np.int32)], False, colour, 1)
            cv2.putText(image, str(ann["instance_id"]), (x + 2, y + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
        flow, valid = decode_flo((out / "flow_forward" / meta["flow_forward_file"]).read_bytes())
        coded = cv2.cvtColor(flow_colours(flow, valid, max_px=6.0), cv2.COLOR_RGB2BGR)
        rows.append(np.hstack([image, np.full((image.shape[0], 4, 3), 255, np.uint8), coded]))
    picture = np.vstack([np.vstack([r, np.full((4, r.shape[1], 3), 255, np.uint8)]) for r in rows])[:-4]
    cv2.imwrite(str(ROOT / "docs" / "config_flow.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 90])


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/vizsynth_flow_picture"))
