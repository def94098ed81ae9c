"""GPU placement: --gpus deals local workers to EGL devices; Ray actors map their GPU to an EGL device."""

from __future__ import annotations

import pytest

import vizsynth
from tests.helpers import SHARED_CONFIG, SHARED_FRAMES, SHARED_SEED
from tests.run.test_generate import tree_bytes
from vizsynth.errors import ConfigError
from vizsynth.render.devices import cuda_ordinal, deal_devices, egl_device_count, parse_gpus


def test_gpus_lists_parse_and_bad_lists_name_the_rule():
    assert parse_gpus("all", 3) == [0, 1, 2]
    assert parse_gpus("2,0", 3) == [2, 0]
    with pytest.raises(ConfigError, match="EGL device 3 does not exist; this machine has 2"):
        parse_gpus("0,3", 2)
    with pytest.raises(ConfigError, match="names a device twice"):
        parse_gpus("1,1", 2)
    with pytest.raises(ConfigError, match="'all' or EGL device numbers"):
        parse_gpus("gpu0", 2)


def test_workers_are_dealt_to_devices_in_turn():
    assert deal_devices([1, 0], 5) == [1, 0, 1, 0, 1]
    with pytest.raises(ConfigError, match="names 3 devices but --workers is 2"):
        deal_devices([0, 1, 2], 2)


def test_a_ray_gpu_id_is_its_place_in_cuda_visible_devices():
    # Ray reserves physical GPU 3 for an actor and sets CUDA_VISIBLE_DEVICES=3: CUDA (and NVIDIA's
    # EGL) calls it device 0 there.
    assert cuda_ordinal("3", "3") == 0
    assert cuda_ordinal(5, "4,5,6") == 1
    assert cuda_ordinal("GPU-8a1c", "GPU-77,GPU-8a1c") == 1
    assert cuda_ordinal(2, None) == 2


@pytest.mark.gl
def test_gpus_spread_workers_and_keep_the_bytes(small_dataset, tmp_path):
    devices = ",".join(str(d) for d in range(egl_device_count()))
    out = tmp_path / "data"
    summary = vizsynth.generate(SHARED_CONFIG, out, num_frames=SHARED_FRAMES, seed=SHARED_SEED, workers=2,
                                gpus=devices, progress=False)
    assert summary.ok
    assert tree_bytes(out) == tree_bytes(small_dataset)


@pytest.mark.gl
def test_a_missing_gpu_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "data"
    missing = egl_device_count()
    with pytest.raises(ConfigError, match=f"EGL device {missing} does not exist"):
        vizsynth.generate(SHARED_CONFIG, out, num_frames=2, workers=2, gpus=str(missing), progress=False)
    assert not out.exists()
