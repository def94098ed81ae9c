"""A worker process's settings: frame-sized temporaries stop costing page faults, and a worker
with one core keeps OpenCV on its own thread. Each check runs in a fresh interpreter, since both
settings last as long as the process."""

import platform
import subprocess
import sys

import pytest

_FAULTS = """
import resource
import numpy as np
from vizsynth.run.worker_process import keep_freed_memory

def faults_per_round(rounds=20):
    # A frame's pattern: a few frame-sized temporaries made, filled and freed together.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        arrays = [np.ones(4 * 2**20 // 8) for _ in range(3)]
        del arrays
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds

faults_per_round(3)
default = faults_per_round()
applied = keep_freed_memory()
faults_per_round(3)
print(default, faults_per_round(), applied)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the malloc settings are glibc's (mallopt)")
def test_kept_memory_stops_per_frame_page_faults():
    out = subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True, check=True).stdout.split()
    default, tuned, applied = float(out[0]), float(out[1]), out[2]
    assert applied == "True"
    # 12 MB of fresh pages is ~3000 faults: glibc's defaults hand most of them back every round.
    assert default > 500
    assert tuned < 10


_THREADS = """
import cv2
from vizsynth.run.worker_process import tune_worker_process
default = cv2.getNumThreads()
tune_worker_process({cores})
print(default, cv2.getNumThreads())
"""


@pytest.mark.parametrize("cores", [1, 4])
def test_opencv_threads_only_pinned_for_a_single_core_worker(cores):
    out = subprocess.run([sys.executable, "-c", _THREADS.format(cores=cores)], capture_output=True, text=True,
                         check=True).stdout.split()
    default, after = int(out[0]), int(out[1])
    assert after == (1 if cores == 1 else default)
