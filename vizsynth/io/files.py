"""The output folder layout and atomic file writes.

Per-frame files live in chunk folders of 1000 frames (``images/00012/00012345.jpg``) so folders
stay fast at millions of frames. A frame is complete when its record (``frames/...json``) exists:
it is written last, after the images, and every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

CHUNK = 1000
TMP_PREFIX = ".tmp-"


def frame_stem(index: int) -> str:
    """Relative path without suffix of frame ``index``'s files, e.g. ``00012/00012345``."""
    return f"{index // CHUNK:05d}/{index:08d}"


def record_path(out_dir: Path, index: int) -> Path:
    return out_dir / "frames" / f"{frame_stem(index)}.json"


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` so that ``path`` is either absent, its old content, or complete; makes
    ``path``'s folder when it is missing."""
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        f = open(tmp, "wb")
    except FileNotFoundError:  # the folder is new (once per chunk folder): no mkdir call for every file
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(tmp, "wb")
    try:
        with f:
            f.write(data)
    except BaseException:
        # A failed write (disk full, interrupt) must not leave its temporary behind.
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


# What vizsynth writes is a tree of plain values (never a cycle): skipping the encoder's cycle check
# is ~15% of a record's text.
_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def compact_json(data: object) -> str:
    """JSON text without spaces, as ``json.dumps(data, separators=(",", ":"))`` writes it."""
    return _JSON.encode(data)


def write_json_atomic(path: Path, data: object) -> None:
    write_bytes_atomic(path, compact_json(data).encode())


def remove_stale_temporaries(out_dir: Path, keep: Path | None = None) -> int:
    """Deletes temporary files and folders left by a killed job; returns how many.

    Only call it when no writer is active in ``out_dir`` but the one whose temporary folder is
    ``keep`` (left alone, with what is in it).
    """
    stale = sorted(p for p in out_dir.rglob(f"{TMP_PREFIX}*")
                   if keep is None or (p != keep and keep not in p.parents))
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(stale)
