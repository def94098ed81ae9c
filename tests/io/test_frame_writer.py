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
