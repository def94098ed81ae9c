"""The Ray executor against a local Ray started here: same bytes as the local runner, survives a kill."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import vizsynth
from tests.run.test_generate import CONFIG, tree_bytes
from vizsynth.run.ray_executor import RayExecutor

pytestmark = pytest.mark.gl  # every test here renders

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    # Two GPUs declared as a resource (none needs to exist): Ray still reserves them per actor and
    # sets each actor's CUDA_VISIBLE_DEVICES, which is what the EGL device mapping reads.
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "data"
    assert vizsynth.generate(CONFIG, out, num_frames=16, seed=3, workers=1, progress=False).ok
    return out


def test_ray_dataset_is_byte_identical_to_local(local_ray, local_reference, tmp_path):
    out = tmp_path / "data"
    summary = vizsynth.generate(CONFIG, out, num_frames=16, seed=3, workers=2, progress=False,
                                executor=RayExecutor(chunk_size=3))
    assert summary.ok and summary.completed == 16
    assert tree_bytes(out) == tree_bytes(local_reference)


def test_actors_on_ray_gpus_render_on_the_egl_device_of_their_cuda_visible_devices(local_ray, local_reference,
                                                                                   tmp_path):
    # The actor holding GPU 1 sees CUDA_VISIBLE_DEVICES=1, i.e. CUDA device 0; taking Ray's id 1 as
    # the device number would open EGL device 1, which a one-GPU (or Mesa) machine does not have.
    out = tmp_path / "data"
    summary = vizsynth.generate(CONFIG, out, num_frames=16, seed=3, workers=2, progress=False,
                                executor=RayExecutor(gpus_per_worker=1, chunk_size=3))
    assert summary.ok and summary.completed == 16
    assert tree_bytes(out) == tree_bytes(local_reference)


def test_killing_an_actor_mid_job_still_gives_the_identical_dataset(local_ray, local_reference, tmp_path):
    out = tmp_path / "data"
    killed = []

    def kill_one_actor_once_frames_appear():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["name"].startswith("vizsynth-")]
            if names and len(list((out / "frames").rglob("*.json"))) >= 2:
                ray.kill(ray.get_actor(sorted(names)[0]), no_restart=False)
                killed.append(len(list((out / "frames").rglob("*.json"))))
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_actor_once_frames_appear)
    killer.start()
    summary = vizsynth.generate(CONFIG, out, num_frames=16, seed=3, workers=2, progress=False,
                                executor=RayExecutor(chunk_size=2))
    killer.join()
    assert killed and killed[0] < 16, "an actor must be killed part-way for this test to mean anything"
    assert summary.ok and summary.completed == 16
    assert tree_bytes(out) == tree_bytes(local_reference)


def test_actors_that_cannot_start_stop_the_job_with_their_reason(local_ray, tmp_path):
    import shutil

    from vizsynth.config import load_config
    from vizsynth.errors import RenderError
    from vizsynth.run.task import FrameTask

    mesh = tmp_path / "mug.ply"
    shutil.copy(Path(__file__).parents[1] / "data" / "ycbv" / "models" / "025_mug.ply", mesh)
    config = load_config({"objects": {"assets": [{"mesh": str(mesh), "category": "mug"}]}})
    mesh.unlink()  # gone before the actors load it, as on a node without the shared filesystem
    with pytest.raises(RenderError, match="mug.ply does not exist"):
        list(RayExecutor()(FrameTask(config, 0, tmp_path, ["mug"]), list(range(4)), 2))
