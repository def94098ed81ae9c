"""Process settings for a process that renders frames: how freed memory is kept, OpenCV's threads.

Set once per worker process (pool worker, Ray actor, the CLI's own process), never by a library
call in a user's process, since both settings last as long as the process.

- Memory: a frame makes frame-sized temporaries (float depth, encoder buffers: ~2.5 MB at 640x480,
  ~17 MB at 1080p). glibc serves blocks above its mmap threshold with fresh ``mmap`` pages and gives
  freed memory at the top of the heap back to the kernel, so every frame faulted those pages in
  again, zeroed by the kernel: ~3 ms of a 640x480 frame's write stage on the 2-core VM. A fixed
  mmap threshold of 32 MB (glibc's maximum) and a 128 MB trim threshold keep that memory in the
  heap for the next frame. Elsewhere than glibc this does nothing.
- OpenCV's threads: with one core to itself, a worker gains nothing from OpenCV splitting a colour
  conversion or an encode over threads, and pays the hand-over (~1 ms of CPU a frame at 640x480).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

import cv2

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc refuses more on 64-bit systems
TRIM_THRESHOLD_BYTES = 128 * 2**20


def keep_freed_memory() -> bool:
    """Makes glibc serve blocks up to 32 MB from the heap and keep up to 128 MB of freed heap
    memory instead of returning it to the kernel; returns whether it could (glibc only)."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


def tune_worker_process(cores: int) -> None:
    """Settings for this process, a worker with ``cores`` cores to itself (see the module docstring)."""
    keep_freed_memory()
    if cores < 2:
        cv2.setNumThreads(1)
