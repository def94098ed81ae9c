"""write_frame: the images are written on writer threads, the record only after all of them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import vizsynth
from tests.helpers import SMALL
from vizsynth.config import load_config
from vizsynth.io.files import TMP_PREFIX, record_path
from vizsynth.io.frame_writer import WRITER_THREADS, frame_complete, write_frame

pytestmark = pytest.mark.gl  # renders the frame it writes


@pytest.fixture(scope="module")
def frame_and_config():
    from vizsynth.pipeline import FrameRenderer

    config = load_config(SMALL)
    with FrameRenderer(config, 5) as frames:
        yield frames.frame(0), config


INFO = {"vizsynth_version": vizsynth.__version__, "seed": 5, "tries": 1}


@pytest.fixture(params=["own thread", "writer threads"])
def writers(request):
    """None (write_frame writes in its own thread) or a pool like a FrameTask's, shut down after."""
    if request.param == "own thread":
        yield None
        return
    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        yield pool


def test_a_file_that_cannot_be_written_leaves_no_record(frame_and_config, writers, tmp_path):
    frame, config = frame_and_config
    (tmp_path / "depth").write_bytes(b"a file where the depth folder goes")
    with pytest.raises(OSError):
        write_frame(tmp_path, frame, config.output, INFO, writers)
    assert not record_path(tmp_path, 0).exists()
    assert not frame_complete(tmp_path, 0)
    # Every other job had finished when the error came: no write is still under way or half done.
    assert not list(tmp_path.rglob(f"{TMP_PREFIX}*"))


def test_a_written_frame_is_complete_and_its_files_are_the_frames(frame_and_config, writers, tmp_path):
    import cv2
    import numpy as np

    frame, config = frame_and_config
    record = write_frame(tmp_path, frame, config.output, INFO, writers)
    assert frame_complete(tmp_path, 0)
    ids = cv2.imread(str(tmp_path / "instances" / record.info.instances_file), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(ids, frame.instance_ids)
    depth = cv2.imread(str(tmp_path / "depth" / record.info.depth_file), cv2.IMREAD_UNCHANGED)
    assert (np.abs(depth - frame.depth_m.astype(np.float64) * 1000) <= 0.501).all()  # millimetres, rounded


def _depth_file(path, record):
    import cv2

    return cv2.imread(str(path / "depth" / record.info.depth_file), cv2.IMREAD_UNCHANGED)


def test_depth_samples_from_the_renderer_are_written_as_they_are(frame_and_config, renderer, tmp_path):
    """On a GPU the label pass hands the writer the depth PNG's samples (Frame.depth_png, big-endian):
    the file holds them as they are; samples made for another depth scale are not used, and the
    writer encodes the float depth itself."""
    import dataclasses

    import numpy as np

    from vizsynth.maps import encode_depth

    frame, config = frame_and_config
    scale = config.output.depth_scale_m
    frame = dataclasses.replace(frame, depth_png=None, depth_png_scale_m=None)
    made = renderer.render(frame.spec, depth_scale_m=scale)
    np.testing.assert_array_equal(made.depth_m, frame.depth_m)  # the same scene: the same float depth
    doubled = renderer.render(frame.spec, depth_scale_m=2 * scale).depth_png
    assert not np.array_equal(doubled, made.depth_png)
    encoded = encode_depth(frame.depth_m, scale)
    for name, samples, samples_scale, expected in (
        ("encoded here", None, None, encoded),
        ("renderer's samples", made.depth_png, scale, made.depth_png),
        ("samples of another scale", doubled, 2 * scale, encoded),
    ):
        path = tmp_path / name
        record = write_frame(path, dataclasses.replace(frame, depth_png=samples, depth_png_scale_m=samples_scale),
                             config.output, INFO)
        np.testing.assert_array_equal(_depth_file(path, record), expected, err_msg=name)


def test_a_frame_renderer_on_a_gpu_hands_the_writer_its_depth_samples(frame_and_config, tmp_path):
    """FrameRenderer asks the label pass for the depth PNG's samples where GL is not a software
    rasteriser (each way forced here), in the config's depth scale; every other file is the same.
    (Where GL is Mesa's, the samples equal the writer's own encoding: tests/render.)"""
    import numpy as np

    from vizsynth.maps import encode_depth
    from vizsynth.pipeline import FrameRenderer

    _, config = frame_and_config
    frames = {}
    for software in (True, False):
        with FrameRenderer(config, 5) as renderer:
            renderer._renderer._gl._renderer.software = software
            frames["cpu" if software else "gpu"] = renderer.frame(0)
    assert frames["cpu"].depth_png is None and frames["cpu"].depth_png_scale_m is None
    assert frames["gpu"].depth_png_scale_m == config.output.depth_scale_m
    expected = {"cpu": encode_depth(frames["cpu"].depth_m, config.output.depth_scale_m),
                "gpu": frames["gpu"].depth_png}
    for name, frame in frames.items():
        record = write_frame(tmp_path / name, frame, config.output, INFO)
        np.testing.assert_array_equal(_depth_file(tmp_path / name, record), expected[name], err_msg=name)
    for folder in ("images", "instances", "frames"):
        [a], [b] = (sorted((tmp_path / name / folder).rglob("*.*")) for name in ("cpu", "gpu"))
        assert a.read_bytes() == b.read_bytes(), folder
