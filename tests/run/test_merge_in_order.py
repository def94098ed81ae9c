"""A job merges its COCO labels while it renders: each frame once it and every frame before it are
done. The result must be the merge of the records after the job, byte for byte (GL-free: the frames
come from the shared dataset)."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from vizsynth.io.coco import CocoWriter, write_coco
from vizsynth.io.files import TMP_PREFIX
from vizsynth.run.job import _MergeInOrder
from vizsynth.validate import ValidationReport


def _head(dataset):
    coco = json.loads((dataset / "annotations.json").read_text())
    return coco["categories"], coco["info"], len(coco["images"])


def test_the_job_wrote_what_a_merge_of_its_records_writes(small_dataset, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(small_dataset, out)
    categories, info, frames = _head(out)
    merged_by_the_job = (out / "annotations.json").read_bytes()
    write_coco(out, list(range(frames)), categories, info)
    assert (out / "annotations.json").read_bytes() == merged_by_the_job


def test_frames_done_in_any_order_with_failures_merge_in_frame_order(small_dataset, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(small_dataset, out)
    categories, info, frames = _head(out)
    failed = {3, 7}
    complete = [i for i in range(frames) if i not in failed]
    write_coco(out, complete, categories, info)
    expected = (out / "annotations.json").read_bytes()

    order = list(range(frames))
    random.Random(0).shuffle(order)
    with CocoWriter(out, categories, report=ValidationReport(str(out))) as writer:
        merging = _MergeInOrder(writer, out)
        for n, index in enumerate(order):
            merging.done(index, ok=index not in failed)
            # merged: exactly the complete frames before the first frame not yet done
            first_missing = min(set(range(frames)) - set(order[: n + 1]), default=frames)
            assert writer.added == [i for i in complete if i < first_missing]
        assert merging.writer is writer
        (out / "annotations.json").unlink()
        assert write_coco(out, complete, categories, info, started=writer) > 0
    assert (out / "annotations.json").read_bytes() == expected
    assert not list(out.rglob(f"{TMP_PREFIX}*")), "temporary files left behind"


def test_a_started_writer_must_hold_the_first_frames(small_dataset, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(small_dataset, out)
    categories, info, _ = _head(out)
    with CocoWriter(out, categories) as writer:
        merging = _MergeInOrder(writer, out)
        merging.done(0, ok=True)
        merging.done(1, ok=True)
        with pytest.raises(ValueError, match="not the first of"):
            write_coco(out, [1, 2], categories, info, started=writer)
