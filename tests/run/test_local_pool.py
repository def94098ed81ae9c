"""The local process pool survives dying workers and reports workers that cannot start."""

from __future__ import annotations

import os

import pytest

from vizsynth.config import DatasetConfig
from vizsynth.errors import RenderError
from vizsynth.run.local import run_frames
from vizsynth.run.task import FrameOutcome, FrameTask

pytestmark = pytest.mark.gl  # every test here renders


class KillsItsWorker(FrameTask):
    """Frame 5 kills the process rendering it (as the out-of-memory killer would)."""

    def setup(self, writer_threads: int = 0) -> None:
        pass

    def __call__(self, index: int) -> FrameOutcome:
        if index == 5:
            os._exit(9)
        return FrameOutcome(index, True)


class CannotStart(FrameTask):
    def setup(self, writer_threads: int = 0) -> None:
        raise RuntimeError("no GL here")


def test_a_frame_that_kills_its_worker_fails_alone_and_the_job_ends(tmp_path):
    outcomes = list(run_frames(KillsItsWorker(DatasetConfig(), 0, tmp_path, []), range(12), workers=2))
    assert sorted(o.index for o in outcomes) == list(range(12))
    failed = [o for o in outcomes if not o.ok]
    assert [o.index for o in failed] == [5]
    assert "worker process died" in failed[0].error


def test_workers_that_cannot_start_raise_a_clear_error(tmp_path):
    with pytest.raises(RenderError, match="could not set up their renderer"):
        list(run_frames(CannotStart(DatasetConfig(), 0, tmp_path, []), range(4), workers=2))
