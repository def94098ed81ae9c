"""Other tools' own readers on a generated dataset: FiftyOne's COCO and YOLOv5 importers and
supervision's DetectionDataset.from_coco / from_yolo load every image and every object, with our
boxes, labels and masks. Each test skips, naming the package, where the client is not installed
(``pip install "vizsynth[clients]"``; CI installs ``.[test]`` only).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

import vizsynth
from vizsynth.io.yolo import yolo_split

CONFIG = {
    "image": {"width": 96, "height": 72},
    "objects": {"count": {"uniform": [3, 6]},
                "assets": [{"primitive": "cube"}, {"primitive": "sphere"}, {"primitive": "torus"}]},
    "camera": {"distance_m": 1.0},
    "distractors": {"count": 1},
    "annotate": {"min_visibility": 0.4},  # some objects ignored: YOLO leaves them out
    "output": {"formats": ["coco", "yolo"], "yolo_val_fraction": 0.5, "image_format": "png"},
}
FRAMES = 6


def _generate(out: Path, **output) -> Path:
    config = {**CONFIG, "output": {**CONFIG["output"], **output}}
    assert vizsynth.generate(config, out, num_frames=FRAMES, seed=21, progress=False).ok
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """COCO RLE + YOLO segment."""
    return _generate(tmp_path_factory.mktemp("clients") / "segment")


@pytest.fixture(scope="module")
def detect_dataset(tmp_path_factory):
    """COCO RLE + YOLO detect (boxes)."""
    return _generate(tmp_path_factory.mktemp("clients") / "detect", yolo_task="detect")


@pytest.fixture(scope="module")
def sv():
    """supervision (listed before the datasets: skips before rendering)."""
    return pytest.importorskip("supervision", reason="supervision is not installed (the clients extra)")


def _coco(out: Path) -> dict:
    return json.loads((out / "annotations.json").read_text())


def _by_image(coco: dict) -> dict[str, list[dict]]:
    """{images[].file_name: its annotations in file order}."""
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    out = {name: [] for name in names.values()}
    for ann in coco["annotations"]:
        out[names[ann["image_id"]]].append(ann)
    return out


def _yolo_objects(coco: dict, split: str) -> dict[str, list[dict]]:
    """{image file name: the annotations YOLO keeps (not ignored)} for the frames of ``split``."""
    return {Path(image["file_name"]).name: [a for a in anns if not a["ignore"]]
            for image, anns in zip(coco["images"], _by_image(coco).values())
            if yolo_split(image["frame_index"], CONFIG["output"]["yolo_val_fraction"]) == split}


def _xyxy(ann: dict) -> list[float]:
    x, y, w, h = ann["bbox"]
    return [x, y, x + w, y + h]


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    import cv2

    padded = np.ascontiguousarray(np.pad(mask.astype(np.uint8), 1))  # OpenCV 5 refuses pycocotools' Fortran order
    cv2.floodFill(padded, None, (0, 0), 2, flags=4)
    return (padded != 2)[1:-1, 1:-1]


# ---------------------------------------------------------------------------------------- supervision


@pytest.mark.gl
def test_supervision_from_coco_loads_every_box_and_mask(sv, dataset):
    coco = _coco(dataset)
    ds = sv.DetectionDataset.from_coco(str(dataset / "images"), str(dataset / "annotations.json"), force_masks=True)
    assert list(ds.classes) == [c["name"] for c in coco["categories"]]
    expected = _by_image(coco)
    assert len(ds) == len(coco["images"]) == FRAMES
    loaded = {str(Path(p).resolve().relative_to((dataset / "images").resolve())): ds.annotations[p]
              for p in ds.image_paths}
    assert loaded.keys() == expected.keys()
    boxes = 0
    for name, anns in expected.items():
        detections = loaded[name]
        assert len(detections) == len(anns)
        boxes += len(detections)
        np.testing.assert_allclose(detections.xyxy, np.array([_xyxy(a) for a in anns]).reshape(-1, 4), atol=1e-3)
        assert list(detections.class_id) == [a["category_id"] - 1 for a in anns]
        for mask, ann in zip(detections.mask, anns):
            assert np.array_equal(mask, coco_mask.decode(ann["segmentation"]).astype(bool))
    assert boxes == len(coco["annotations"]) > FRAMES


@pytest.mark.gl
@pytest.mark.parametrize("split", ["train", "val"])
def test_supervision_from_yolo_detect_boxes_are_the_coco_boxes(sv, detect_dataset, split):
    coco, yolo = _coco(detect_dataset), detect_dataset / "yolo"
    expected = _yolo_objects(coco, split)
    ds = sv.DetectionDataset.from_yolo(str(yolo / "images" / split), str(yolo / "labels" / split),
                                       str(yolo / "data.yaml"))
    assert list(ds.classes) == [c["name"] for c in coco["categories"]]
    loaded = {Path(p).name: ds.annotations[p] for p in ds.image_paths}
    assert loaded.keys() == expected.keys() and expected, "every frame of the split, the split not empty"
    for name, anns in expected.items():
        np.testing.assert_allclose(loaded[name].xyxy, np.array([_xyxy(a) for a in anns]).reshape(-1, 4), atol=1e-3)
        assert list(loaded[name].class_id) == [a["category_id"] - 1 for a in anns]


@pytest.mark.gl
def test_supervision_from_yolo_segment_polygons_give_back_the_masks(sv, dataset):
    """supervision rounds polygon vertices to whole pixels before cv2.fillPoly; vizsynth's run
    through pixel centres (j + 0.5), so a vertex lands half a pixel off either way: boxes come out
    as the polygons' extent (half a pixel inside the COCO box on each side) and masks nearly but
    not exactly the hole-filled instance masks (measured below; ultralytics' polygon2mask, which
    does not round, gives them back exactly: tests/io/test_label_writers.py)."""
    coco, yolo = _coco(dataset), dataset / "yolo"
    ious, boxes = [], 0
    for split in ("train", "val"):
        expected = _yolo_objects(coco, split)
        ds = sv.DetectionDataset.from_yolo(str(yolo / "images" / split), str(yolo / "labels" / split),
                                           str(yolo / "data.yaml"))
        loaded = {Path(p).name: ds.annotations[p] for p in ds.image_paths}
        assert loaded.keys() == expected.keys()
        for name, anns in expected.items():
            detections = loaded[name]
            assert len(detections) == len(anns) and detections.mask is not None
            boxes += len(anns)
            inner = np.array([_xyxy(a) for a in anns]).reshape(-1, 4) + [0.5, 0.5, -0.5, -0.5]
            np.testing.assert_allclose(detections.xyxy, inner, atol=1e-3)
            for mask, ann in zip(detections.mask, anns):
                ours = _fill_holes(coco_mask.decode(ann["segmentation"]).astype(bool))
                ious.append((mask & ours).sum() / (mask | ours).sum())
    assert boxes == sum(1 for a in coco["annotations"] if not a["ignore"])
    assert np.median(ious) > 0.8 and min(ious) > 0.5, sorted(ious)[:5]


# ------------------------------------------------------------------------------------------- FiftyOne


@pytest.fixture(scope="module")
def fo():
    """FiftyOne's label classes and importers (listed before the datasets: skips before rendering)."""
    pytest.importorskip("fiftyone", reason="fiftyone is not installed (the clients extra)")
    import fiftyone.core.labels
    import fiftyone.utils.coco
    import fiftyone.utils.yolo

    return fiftyone

def _relative_box(ann: dict, image: dict) -> list[float]:
    """FiftyOne's box: [x, y, w, h] relative to the image size."""
    x, y, w, h = ann["bbox"]
    return [x / image["width"], y / image["height"], w / image["width"], h / image["height"]]


@pytest.mark.gl
def test_fiftyone_coco_importer_reads_every_object_with_its_label_box_mask_and_extras(fo, dataset):
    coco = _coco(dataset)
    images = {image["file_name"]: image for image in coco["images"]}
    expected = _by_image(coco)
    names = {c["id"]: c["name"] for c in coco["categories"]}
    importer = fo.utils.coco.COCODetectionDatasetImporter(  # extra_attrs=True: its default, every extra key an attribute
        data_path=str(dataset / "images"), labels_path=str(dataset / "annotations.json"),
        label_types=["detections", "segmentations"])
    seen, objects = set(), 0
    with importer:
        for image_path, metadata, label in importer:
            name = str(Path(image_path).resolve().relative_to((dataset / "images").resolve()))
            seen.add(name)
            image, anns = images[name], expected[name]
            assert (metadata.width, metadata.height) == (image["width"], image["height"])
            boxes, masks = label["detections"].detections, label["segmentations"].detections
            assert len(boxes) == len(masks) == len(anns)
            objects += len(anns)
            for box, seg, ann in zip(boxes, masks, anns):
                assert box.label == seg.label == names[ann["category_id"]]
                np.testing.assert_allclose(box.bounding_box, _relative_box(ann, image), rtol=0, atol=1e-12)
                x, y, w, h = (int(v) for v in ann["bbox"])
                ours = coco_mask.decode(ann["segmentation"]).astype(bool)[y:y + h, x:x + w]
                assert np.array_equal(seg.mask, ours), "FiftyOne's mask is the object's mask inside its box"
                for key in ann.keys() - {"id", "image_id", "category_id", "bbox", "segmentation", "area",
                                         "keypoints", "score"}:
                    assert box[key] == ann[key], key  # every extra key (iscrowd among them) as an attribute
    assert seen == images.keys() and objects == len(coco["annotations"]) > FRAMES


@pytest.mark.gl
def test_extra_coco_keys_are_none_of_fiftyones_reserved_detection_names(fo, dataset):
    fol = fo.core.labels
    reserved = set(fol.Detection._fields) | {n for n in dir(fol.Detection) if not n.startswith("__")}
    assert {"label", "bounding_box", "mask", "instance_id", "to_polyline"} <= reserved, "read from FiftyOne itself"
    keys = {k for ann in _coco(dataset)["annotations"] for k in ann}
    standard = {"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd", "keypoints",
                "num_keypoints"}
    extra = keys - standard
    assert {"vizsynth_instance_id", "visibility", "amodal_bbox", "obj_to_cam"} <= extra
    assert not extra & reserved and not any(k.startswith("_") for k in extra), sorted(extra & reserved)


@pytest.mark.gl
@pytest.mark.parametrize("split", ["train", "val"])
def test_fiftyone_yolov5_importer_reads_the_yolo_tree(fo, detect_dataset, split):
    coco = _coco(detect_dataset)
    images = {Path(image["file_name"]).name: image for image in coco["images"]}
    names = {c["id"]: c["name"] for c in coco["categories"]}
    expected = _yolo_objects(coco, split)
    importer = fo.utils.yolo.YOLOv5DatasetImporter(dataset_dir=str(detect_dataset / "yolo"), yaml_path="data.yaml",
                                          split=split, include_all_data=True)
    loaded = {}
    with importer:
        for image_path, _, detections in importer:
            loaded[Path(image_path).name] = detections.detections if detections is not None else []
    assert loaded.keys() == expected.keys() and expected, "every frame of the split, the split not empty"
    for name, anns in expected.items():
        image = images[name]
        assert [d.label for d in loaded[name]] == [names[a["category_id"]] for a in anns]
        size = np.array([image["width"], image["height"]] * 2)
        np.testing.assert_allclose([np.array(d.bounding_box) * size for d in loaded[name]],
                                   np.array([a["bbox"] for a in anns]).reshape(-1, 4), rtol=0, atol=1e-3)


@pytest.mark.gl
def test_readme_fiftyone_snippet_runs_as_written(fo, dataset, tmp_path, monkeypatch):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Loading a dataset in FiftyOne"):]
    snippet = section[section.index("```python\n") + len("```python\n"):section.index("```\n", 10)]
    (tmp_path / "DS").symlink_to(dataset)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # noqa: S102  (the README's own code, as a user runs it)
    coco = _coco(dataset)
    assert len(scope["samples"]) == FRAMES
    assert sum(len(d.detections) for _, d, _ in scope["samples"]) == len(coco["annotations"])
    assert all(s.detections[0].has_mask for _, _, s in scope["samples"])
    assert len(scope["val"]) == len(_yolo_objects(coco, "val")) > 0
