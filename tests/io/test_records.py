"""The typed frame record: it reads back every record vizsynth writes and dumps it to the same bytes,
and it refuses damaged records naming the field."""

from __future__ import annotations

import json

import pytest

import vizsynth
from vizsynth.errors import RecordError
from vizsynth.frame_record import parse_record, record_to_dict
from vizsynth.io.records import iter_records, read_record

# Every optional key a record can hold: amodal measures, keypoints (primitives have them), the maps.
CONFIG = {
    "image": {"width": 64, "height": 48},
    "objects": {"count": 3},
    "annotate": {"amodal": True, "semantic_map": True, "ray_distance_map": True, "normals_map": True},
    "output": {"formats": ["coco"], "image_format": "png"},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("records") / "data"
    assert vizsynth.generate(CONFIG, out, num_frames=2, seed=11, progress=False).ok
    return out


@pytest.mark.gl
def test_written_records_dump_back_to_their_own_bytes(dataset):
    paths = sorted((dataset / "frames").rglob("*.json"))
    assert len(paths) == 2
    for path in paths:
        written = path.read_bytes()
        record = parse_record(written, path.parent, str(path))
        assert set(record.info.map_files) == {"semantic", "ray_distance", "normals"}
        assert any(a.keypoints for a in record.info.annotations) and record.info.seed == 11
        assert json.dumps(record_to_dict(record, path.parent), separators=(",", ":")).encode() == written


@pytest.mark.gl
def test_read_records_give_typed_fields_equal_to_the_json(dataset):
    for index, record in iter_records(dataset, [0, 1]):
        raw = json.loads((dataset / "frames" / "00000" / f"{index:08d}.json").read_text())
        assert record.info.index == index and record.info.image_file == raw["record"]["image_file"]
        assert ("normals", raw["record"]["normals_file"]) in record.info.files
        assert [a.bbox for a in record.info.annotations] == [a["bbox"] for a in raw["record"]["annotations"]]
        assert record.scene.camera.K.tolist() == raw["camera"]["K"]


@pytest.mark.gl
@pytest.mark.parametrize("damage, field", [
    (lambda r: r["record"]["annotations"][0].update(area=3.5), "record.annotations.0.area"),
    (lambda r: r["record"]["annotations"][0].update(iscrowd=2), "record.annotations.0.iscrowd"),
    (lambda r: r["record"]["annotations"][0]["obj_to_cam"].pop(), None),
    (lambda r: r["record"].pop("depth_file"), "record.depth_file"),
    (lambda r: r["record"].update(mask_file="x.png"), "record.mask_file"),
    (lambda r: r["camera"].update(width=0), "camera.width"),
], ids=["area_float", "iscrowd_2", "pose_three_rows", "no_depth_file", "unknown_file_key", "width_0"])
def test_damaged_record_is_refused_naming_the_field(dataset, tmp_path, damage, field):
    path = sorted((dataset / "frames").rglob("*.json"))[0]
    raw = json.loads(path.read_text())
    damage(raw)
    with pytest.raises(RecordError) as error:
        parse_record(json.dumps(raw), path.parent, "frame.json")
    assert str(error.value).startswith("frame.json")
    if field is not None:
        assert f"'{field}'" in str(error.value)


def test_missing_or_truncated_record_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_record(tmp_path, 0)
    with pytest.raises(RecordError, match="not valid JSON"):
        parse_record(b'{"camera": {"K": [[1', tmp_path, "frame.json")
    with pytest.raises(RecordError, match="'record' object"):
        parse_record(b'{"camera": {}}', tmp_path, "frame.json")
