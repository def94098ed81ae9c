"""vizsynth validate: a clean dataset passes; each corruption is reported, and only it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask

import vizsynth
from tests.helpers import YCBV, child_env, ycbv_coco
from vizsynth.cli import main
from vizsynth.frame_record import parse_record
from vizsynth.run.fixed_scenes import render_scenes
from vizsynth.validate import validate_dataset

CONFIG = {"image": {"width": 64, "height": 48}, "objects": {"count": {"uniform": [3, 5]}}}


@pytest.fixture(scope="module")
def clean(small_dataset):
    """The session's shared dataset; every corruption is made on a copy of it."""
    return small_dataset


@pytest.mark.gl
def test_clean_dataset_validates(clean, capsys):
    assert main(["validate", str(clean)]) == 0
    assert "valid" in capsys.readouterr().out
    manifest = json.loads((clean / "manifest.json").read_text())
    assert manifest["validation"]["problems"] == {}, "the generator's own cheap check ran and passed"


def _corrupt_coco(data: dict, kind: str) -> None:
    anns = data["annotations"]
    if kind == "dangling_image_id":
        anns[0]["image_id"] = 999
    elif kind == "unknown_category_id":
        anns[0]["category_id"] = 99
    elif kind == "nonpositive_bbox":
        anns[0]["bbox"][2] = -3
    elif kind == "duplicate_annotation_id":
        anns[1]["id"] = anns[0]["id"]
    elif kind == "missing_key":
        del data["categories"]
    elif kind == "bbox_mask_mismatch":
        for a in anns:
            x, y, w, h = a["bbox"]
            a["bbox"] = [x, y, x + w, y + h]
    elif kind == "image_size_mismatch":
        data["images"][0]["width"] += 10


@pytest.mark.parametrize("kind", [
    "dangling_image_id", "unknown_category_id", "nonpositive_bbox", "missing_image_file",
    "duplicate_annotation_id", "missing_key", "bbox_mask_mismatch", "image_size_mismatch",
])
@pytest.mark.gl
def test_each_corruption_is_reported_and_only_it(clean, tmp_path, capsys, kind):
    broken = tmp_path / "broken"
    shutil.copytree(clean, broken)
    if kind == "missing_image_file":
        next((broken / "images").rglob("*.jpg")).unlink()
    else:
        path = broken / "annotations.json"
        data = json.loads(path.read_text())
        _corrupt_coco(data, kind)
        path.write_text(json.dumps(data))
    report = validate_dataset(broken)
    assert set(report.counts) == {kind}, report.format()
    assert main(["validate", str(broken)]) == 1
    assert kind in capsys.readouterr().out


@pytest.mark.gl
def test_instance_map_disagreeing_with_a_mask_is_reported(clean, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(clean, broken)
    data = json.loads((broken / "annotations.json").read_text())
    image = data["images"][0]
    path = broken / "instances" / image["instances_file"]
    ids = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    ids[ids == ids.max()] = 0  # erase one object from the map (its depth stays)
    cv2.imwrite(str(path), ids)
    assert {"instance_map_mismatch", "depth_instance_mismatch"} <= set(validate_dataset(broken).counts)


def test_real_ycbv_labels_converted_to_coco_validate(tmp_path):
    path = ycbv_coco(tmp_path / "ycbv.json", "label.png")
    report = validate_dataset(path, YCBV / "frames")
    assert report.ok, report.format()
    assert report.checked == {"images": 4, "annotations": 16}


# Corruptions of a generated folder that each leave every other file consistent: the report must
# name exactly one kind. Each takes the folder and returns nothing.

def _first(folder: Path, pattern: str) -> Path:
    return sorted(folder.glob(pattern))[0]


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def jpeg_truncated_to_half(folder):
    path = _first(folder, "images/*/*.jpg")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def depth_saved_as_8_bit_png(folder):
    path = _first(folder, "depth/*/*.png")
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16
    cv2.imwrite(str(path), (depth // 256).astype(np.uint8))


def depth_saved_as_3_channel_png(folder):
    path = _first(folder, "depth/*/*.png")
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(path), np.dstack([depth] * 3))


def frame_record_truncated_to_200_bytes(folder):
    path = _first(folder, "frames/*/*.json")
    path.write_bytes(path.read_bytes()[:200])


def record_bbox_edited(folder):
    def change(record):
        ann = next(a for a in record["record"]["annotations"] if a["area"] > 0)
        ann["bbox"][0] += 1
    _edit_json(_first(folder, "frames/*/*.json"), change)


def record_object_pose_given_three_rows(folder):
    _edit_json(_first(folder, "frames/*/*.json"), lambda r: r["record"]["annotations"][0]["obj_to_cam"].pop())


def manifest_num_frames_increased(folder):
    _edit_json(folder / "manifest.json", lambda m: m.update(num_frames=m["num_frames"] + 1))


def manifest_num_frames_decreased(folder):
    _edit_json(folder / "manifest.json", lambda m: m.update(num_frames=m["num_frames"] - 1))


def manifest_config_sha256_changed(folder):
    _edit_json(folder / "manifest.json", lambda m: m.update(config_sha256=hashlib.sha256(b"other").hexdigest()))


def config_yaml_edited(folder):
    path = folder / "config.yaml"
    path.write_text(path.read_text().replace("width: 64", "width: 65"))


def annotation_deleted_while_its_object_is_in_the_instance_map(folder):
    _edit_json(folder / "annotations.json", lambda d: d["annotations"].pop(2))


def stray_frame_record(folder):
    records = sorted(folder.glob("frames/*/*.json"))
    shutil.copy(records[-1], records[-1].with_name(f"{len(records):08d}.json"))


def rle_counts_with_one_character_changed(folder):
    def change(data):
        ann = data["annotations"][0]
        counts = ann["segmentation"]["counts"]
        # The first one-character change that pycocotools itself rejects (other changes can give
        # a valid RLE of another mask, which is a different problem).
        for i in range(len(counts) // 2, len(counts)):
            changed = counts[:i] + chr(ord(counts[i]) + 1) + counts[i + 1:]
            try:
                coco_mask.decode({"size": ann["segmentation"]["size"], "counts": changed})
            except ValueError:
                ann["segmentation"]["counts"] = changed
                return
        raise AssertionError(f"no invalid one-character change of {counts!r}")
    _edit_json(folder / "annotations.json", change)


def manifest_truncated(folder):
    path = folder / "manifest.json"
    path.write_bytes(path.read_bytes()[:100])


CORRUPTIONS = [
    (jpeg_truncated_to_half, "unreadable_image"),
    (depth_saved_as_8_bit_png, "malformed_map"),
    (depth_saved_as_3_channel_png, "malformed_map"),
    (frame_record_truncated_to_200_bytes, "malformed_record"),
    (record_object_pose_given_three_rows, "malformed_record"),
    (record_bbox_edited, "record_annotation_mismatch"),
    (manifest_num_frames_increased, "frame_count_mismatch"),
    (manifest_num_frames_decreased, "frame_count_mismatch"),
    (manifest_config_sha256_changed, "config_digest_mismatch"),
    (config_yaml_edited, "config_digest_mismatch"),
    (annotation_deleted_while_its_object_is_in_the_instance_map, "missing_annotation"),
    (stray_frame_record, "stray_record"),
    (rle_counts_with_one_character_changed, "malformed_segmentation"),
    (manifest_truncated, "malformed_manifest"),
]


@pytest.mark.parametrize("corrupt, kind", CORRUPTIONS, ids=[c.__name__ for c, _ in CORRUPTIONS])
def test_damaged_file_is_reported_as_its_kind_and_only_it(clean, tmp_path, capsys, corrupt, kind):
    broken = tmp_path / "broken"
    shutil.copytree(clean, broken)
    corrupt(broken)
    report = validate_dataset(broken)
    assert set(report.counts) == {kind}, report.format()
    assert report.counts[kind] == 1, report.format()
    assert main(["validate", str(broken)]) == 1
    assert kind in capsys.readouterr().out


def test_annotation_deleted_names_the_missing_instance(clean, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(clean, broken)
    data = json.loads((broken / "annotations.json").read_text())
    deleted = data["annotations"].pop(2)
    (broken / "annotations.json").write_text(json.dumps(data))
    ids = cv2.imread(str(broken / "instances" / data["images"][deleted["image_id"] - 1]["instances_file"]),
                     cv2.IMREAD_UNCHANGED)
    assert (ids == deleted["vizsynth_instance_id"]).sum() == deleted["area"], "the object is still in the instance map"
    (message,) = validate_dataset(broken).examples["missing_annotation"]
    assert f"image {deleted['image_id']}: instance {deleted['vizsynth_instance_id']} " in message


SEQUENCE = {"frames_per_sequence": 3, "camera_motion": "orbit", "object_motion": "constant"}


def _generate_mode(out: Path, output: dict, sequence: dict | None = None) -> Path:
    """3 frames (64x48) with distractors in the given output mode (constant sizes: BOP accepts it)."""
    config = {**CONFIG, "objects": {"count": {"uniform": [3, 5]}, "primitive_size_m": 0.25},
              "distractors": {"count": 2}, "output": output, **({"sequence": sequence} if sequence else {})}
    assert vizsynth.generate(config, out, num_frames=3, seed=5, progress=False).ok
    return out


# Every output mode vizsynth writes: COCO RLE and polygons, YOLO detect and segment, BOP, sequences
# (COCO video fields, MOT), and datasets with no annotations.json at all (validated from the records).
@pytest.mark.gl
@pytest.mark.parametrize("output, sequence", [
    ({"formats": ["coco", "yolo", "bop"], "image_format": "png"}, None),
    ({"formats": ["coco", "yolo"], "yolo_task": "detect", "coco_segmentation": "polygon"}, None),
    ({"formats": ["coco", "yolo"], "yolo_task": "segment", "coco_segmentation": "polygon", "image_format": "png"}, None),
    ({"formats": ["yolo"]}, None),
    ({"formats": ["bop"]}, None),
    ({"formats": ["coco", "mot"]}, SEQUENCE),
    ({"formats": ["yolo", "mot"], "yolo_task": "detect"}, SEQUENCE),
], ids=["coco_rle_yolo_bop_png", "coco_polygons_yolo_detect", "coco_polygons_yolo_segment_png", "yolo_only",
        "bop_only", "sequences_coco_mot", "sequences_yolo_mot"])
def test_clean_dataset_of_each_output_mode_validates(tmp_path, output, sequence, capsys):
    out = _generate_mode(tmp_path / "data", output, sequence)
    assert (out / "annotations.json").is_file() == ("coco" in output["formats"])
    assert main(["validate", str(out)]) == 0
    printed = capsys.readouterr().out
    source = "annotations.json" if "coco" in output["formats"] else "frame records (no annotations.json)"
    assert printed.startswith(f"{out}: valid (") and printed.rstrip().endswith(f"labels from {source})"), printed


@pytest.fixture(scope="module", params=["yolo", "bop"])
def records_only(request, tmp_path_factory):
    """A dataset with ``output.formats: [yolo]`` or ``[bop]``: frame records, no annotations.json."""
    return _generate_mode(tmp_path_factory.mktemp(request.param) / "data", {"formats": [request.param]})


@pytest.mark.gl
def test_dataset_without_annotations_json_is_validated_from_its_records(records_only, tmp_path):
    report = validate_dataset(records_only)
    assert report.ok and report.labels == "frame records (no annotations.json)", report.format()
    records = sorted((records_only / "frames").rglob("*.json"))
    expected = sum(1 for r in records for a in json.loads(r.read_text())["record"]["annotations"] if a["area"] > 0)
    assert report.checked == {"images": 3, "annotations": expected}, "every visible object of every record"
    broken = tmp_path / "broken"
    shutil.copytree(records_only, broken)
    instances = sorted((broken / "instances").rglob("*.png"))[1]
    visible = [a for a in json.loads(records[1].read_text())["record"]["annotations"] if a["area"] > 0]
    ids = cv2.imread(str(instances), cv2.IMREAD_UNCHANGED)
    ids[ids == visible[0]["instance_id"]] = 0  # a labelled object gone from the instance map
    cv2.imwrite(str(instances), ids)
    report = validate_dataset(broken)
    assert set(report.counts) == {"instance_map_mismatch", "depth_instance_mismatch"}, report.format()
    bad = sorted((broken / "frames").rglob("*.json"))[2]
    bad.write_text("{")
    report = validate_dataset(broken)
    assert report.counts["malformed_record"] == 1 and "frame_count_mismatch" not in report.counts, report.format()


def test_records_only_dataset_reads_each_record_once(records_only, monkeypatch):
    # The labels are built from the records: validation reuses them instead of parsing every
    # record a second time (and comparing it with labels made from itself).
    import vizsynth.validate as validate

    parsed = []

    def counting(data, base_dir, source):
        parsed.append(source)
        return parse_record(data, base_dir, source)

    monkeypatch.setattr(validate, "parse_record", counting)
    report = validate_dataset(records_only)
    assert report.ok, report.format()
    assert sorted(parsed) == sorted(str(p.relative_to(records_only)) for p in (records_only / "frames").rglob("*.json"))


def _stats_from_pixels(folder: Path) -> tuple[Counter, dict[str, list[float]]]:
    """The oracle for compute_stats: classes from each record's sampled scene (its non-distractor
    objects), boxes from the instance PNGs, depth and colour from the depth PNGs and images; no
    annotation the writers made is read."""
    classes, samples = Counter(), defaultdict(list)
    for path in sorted((folder / "frames").rglob("*.json")):
        record = json.loads(path.read_text())
        files = record["record"]
        labelled = [o for o in record["objects"] if not o.get("distractor")]
        classes.update(o["category"] for o in labelled)
        samples["objects_per_image"].append(float(len(labelled)))
        ids = cv2.imread(str(folder / "instances" / files["instances_file"]), cv2.IMREAD_UNCHANGED)
        height, width = ids.shape
        for obj in labelled:
            ys, xs = np.nonzero(ids == obj["instance_id"])
            if len(xs) == 0:  # hidden: counted, but it has no box
                continue
            w, h = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
            samples["log10_box_area"].append(np.log10(w * h / (width * height)))
            samples["log10_aspect_ratio"].append(np.log10(w / h))
            samples["centre_x"].append((xs.min() + w / 2) / width)
            samples["centre_y"].append((ys.min() + h / 2) / height)
        depth = cv2.imread(str(folder / "depth" / files["depth_file"]), cv2.IMREAD_UNCHANGED)
        surface_m = depth[depth > 0] * 0.001  # the default depth_scale_m
        samples["depth_min_m"].append(surface_m.min())
        samples["depth_max_m"].append(surface_m.max())
        b, g, r = cv2.imread(str(folder / "images" / files["image_file"])).reshape(-1, 3).mean(axis=0) / 255
        samples["mean_r"].append(r)
        samples["mean_g"].append(g)
        samples["mean_b"].append(b)
    return classes, samples


@pytest.mark.gl
def test_stats_and_preview_of_a_dataset_without_annotations_json(records_only, tmp_path, capsys):
    from vizsynth.stats import compute_stats

    stats = compute_stats(records_only)
    assert stats["labels"] == "frame records (no annotations.json)"
    classes, samples = _stats_from_pixels(records_only)
    assert stats["classes"] == dict(classes)
    assert stats["summary"]["images"] == 3 and stats["summary"]["annotations"] == sum(classes.values()) > 0
    for name, expected in samples.items():
        assert sorted(stats["samples"][name]) == pytest.approx(sorted(expected), abs=1e-9), name
    for name in ("visibility", "truncation"):  # the records' own measures: one per labelled object
        values = stats["samples"][name]
        assert len(values) == sum(classes.values()) and all(0.0 <= v <= 1.0 for v in values), name
    assert main(["stats", str(records_only), "--out", str(tmp_path / "stats")]) == 0
    assert "labels from  frame records (no annotations.json)" in capsys.readouterr().out
    capsys.readouterr()
    assert main(["preview", str(records_only), "-n", "3", "--columns", "3", "--out", str(tmp_path / "p.png")]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'p.png'}: 3 frames (labels from frame records)\n"
    assert cv2.imread(str(tmp_path / "p.png")).shape == (24, 96, 3)


@pytest.mark.gl
def test_a_datasets_own_annotations_json_finds_its_images(clean, tmp_path, capsys):
    report = validate_dataset(clean / "annotations.json")
    assert report.ok and report.checked["images"] == 12, report.format()
    assert main(["validate", str(clean / "annotations.json")]) == 0
    assert main(["preview", str(clean / "annotations.json"), "-n", "2", "--out", str(tmp_path / "p.png")]) == 0
    from vizsynth.stats import compute_stats

    assert compute_stats(clean / "annotations.json")["samples"] == compute_stats(clean)["samples"]
    # The same file outside its dataset is a bare COCO file: images are looked for beside it.
    shutil.copy(clean / "annotations.json", tmp_path / "annotations.json")
    report = validate_dataset(tmp_path / "annotations.json")
    assert report.counts == {"missing_image_file": 12}, report.format()


def test_dataset_rendered_from_scene_files_validates(clean, tmp_path):
    out = tmp_path / "scenes"
    render_scenes(sorted((clean / "frames").rglob("*.json"))[:2], out)
    report = validate_dataset(out)
    assert report.ok, report.format()


def _cli(*args):
    env = child_env(LC_ALL="C.UTF-8", PYTHONIOENCODING="")
    return subprocess.run([sys.executable, "-m", "vizsynth", *map(os.fsencode, args)], capture_output=True, env=env)


def test_validate_and_preview_on_a_path_that_is_not_utf8(clean, tmp_path):
    name = os.fsdecode(b"data\xff\xfe")
    try:
        folder = tmp_path / name
        shutil.copytree(clean, folder)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes only UTF-8 names")
    proc = _cli("validate", folder)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert os.fsencode(folder) + b": valid" in proc.stdout
    preview = folder / os.fsdecode(b"preview\xff.png")
    proc = _cli("preview", folder, "-n", "2", "--columns", "2", "--out", preview)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    grid = cv2.imdecode(np.fromfile(preview, np.uint8), cv2.IMREAD_COLOR)
    assert grid.shape == (24, 64, 3), "two 64x48 frames side by side at scale 0.5"
