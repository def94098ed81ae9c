"""Which EGL device a worker renders on.

EGL numbers the GPUs of a machine in its own order, which need not be CUDA's or nvidia-smi's, and
``CUDA_VISIBLE_DEVICES`` renumbers CUDA's devices without touching EGL's. The GL context
(``render/context.py``) opens EGL device ``EGL_DEVICE_ID``; this module chooses that number:

- the local runner (``--gpus``): the user names EGL devices, workers are dealt to them in turn;
- Ray: Ray names the GPU it reserved for an actor by its physical id and sets the actor's
  ``CUDA_VISIBLE_DEVICES``; the id's place in that list is the CUDA ordinal the actor's CUDA
  runtime sees, and NVIDIA's ``EGL_NV_device_cuda`` extension tells which EGL device has that
  ordinal (the driver answers in this process's numbering, under ``CUDA_VISIBLE_DEVICES``).

Importing this module loads no GL (pyrender is imported by the functions that query EGL, after
the package's headless defaults are set).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator, Sequence

from vizsynth.errors import ConfigError

ENV = "EGL_DEVICE_ID"
_EGL_CUDA_DEVICE_NV = 0x323A


def egl_device_count() -> int:
    """How many EGL devices this machine has (imports pyrender's EGL platform); 1, the default
    display, where EGL cannot list devices."""
    from pyrender.platforms import egl

    return len(egl.query_devices()) if egl._eglQueryDevicesEXT is not None else 1


def parse_gpus(text: str, available: int) -> list[int]:
    """The EGL device indices of a ``--gpus`` value: ``all`` or a comma-separated list.

    Raises:
        ConfigError: a malformed list, a repeated device or one that does not exist.
    """
    if text.strip() == "all":
        return list(range(available))
    try:
        devices = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--gpus must be 'all' or EGL device numbers like 0,1, got {text!r}") from None
    if len(set(devices)) != len(devices):
        raise ConfigError(f"--gpus names a device twice: {text!r}")
    missing = [d for d in devices if not 0 <= d < available]
    if missing:
        raise ConfigError(f"--gpus: EGL device {missing[0]} does not exist; this machine has {available} EGL "
                          f"device(s), numbered 0..{available - 1}")
    return devices


def deal_devices(devices: Sequence[int], workers: int) -> list[int]:
    """The device of each of ``workers`` workers: dealt in turn, so counts differ by at most one.

    Raises:
        ConfigError: fewer workers than devices (a device would stay idle).
    """
    if workers < len(devices):
        raise ConfigError(f"--gpus names {len(devices)} devices but --workers is {workers}: give each device "
                          "at least one worker")
    return [devices[k % len(devices)] for k in range(workers)]


@contextlib.contextmanager
def egl_device(device: int | None) -> Iterator[None]:
    """Sets ``EGL_DEVICE_ID`` for the block (a GL context made inside opens that device)."""
    if device is None:
        yield
        return
    before = os.environ.get(ENV)
    os.environ[ENV] = str(device)
    try:
        yield
    finally:
        if before is None:
            del os.environ[ENV]
        else:
            os.environ[ENV] = before


def cuda_ordinal(gpu_id: str | int, visible: str | None) -> int:
    """The CUDA device number a process sees for physical GPU ``gpu_id`` under
    ``CUDA_VISIBLE_DEVICES=visible`` (its place in that list; ``gpu_id`` itself when unset)."""
    if not visible:
        return int(gpu_id)
    names = [name.strip() for name in visible.split(",")]
    return names.index(str(gpu_id)) if str(gpu_id) in names else int(gpu_id)


def egl_device_for_cuda(ordinal: int) -> int:
    """The EGL device index of this process's CUDA device ``ordinal``.

    Asks each EGL device for its CUDA device (``EGL_CUDA_DEVICE_NV``); where no device answers
    (Mesa, no NVIDIA EGL), assumes EGL's order is CUDA's.
    """
    from pyrender.platforms import egl

    query = egl._get_egl_func("eglQueryDeviceAttribEXT", egl.egl.EGLBoolean,
                              egl._EGLDeviceEXT, egl.egl.EGLint, ctypes.POINTER(ctypes.c_long))
    if query is not None and egl._eglQueryDevicesEXT is not None:
        for index, device in enumerate(egl.query_devices()):
            value = ctypes.c_long(-1)  # pyrender's EGLDevice keeps the EGLDeviceEXT handle as _display
            if query(device._display, _EGL_CUDA_DEVICE_NV, ctypes.pointer(value)) and value.value == ordinal:
                return index
    return ordinal
