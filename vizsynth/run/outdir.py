"""Output folder checks: refuse to clobber, and make sure a resume continues the same job."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from vizsynth.config import OutputConfig
from vizsynth.errors import OutputError
from vizsynth.io.files import write_json_atomic
from vizsynth.io.labels import write_labels
from vizsynth.validate import ValidationReport

MANIFEST = "manifest.json"


def config_digest(config_yaml: str) -> str:
    """sha256 of the resolved config's YAML: equal configs give equal digests."""
    return hashlib.sha256(config_yaml.encode()).hexdigest()


def prepare_output(out_dir: Path, *, overwrite: bool, resume: bool) -> None:
    """Makes ``out_dir`` ready for a new job, or checks it can be resumed.

    Raises:
        OutputError: a non-empty folder without --overwrite/--resume, or a path that is a file.
    """
    if resume and overwrite:
        raise OutputError("--resume and --overwrite exclude each other: resume keeps frames, overwrite deletes them")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"output path {out_dir} exists and is not a folder")
    non_empty = out_dir.is_dir() and any(out_dir.iterdir())
    if resume:
        if not (out_dir / MANIFEST).is_file():
            raise OutputError(f"cannot resume: {out_dir / MANIFEST} does not exist (was a job started there?)")
        return
    if non_empty:
        if not overwrite:
            raise OutputError(
                f"output folder {out_dir} is not empty; pass --resume to finish the job there, "
                "or --overwrite to replace it"
            )
        if not (out_dir / MANIFEST).is_file():
            raise OutputError(
                f"refusing to overwrite {out_dir}: it is not empty and holds no {MANIFEST}, "
                "so it does not look like a vizsynth dataset"
            )
        shutil.rmtree(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".vizsynth-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write to output folder {out_dir}: {exc.strerror or exc}") from None


def check_resume(out_dir: Path, *, digest: str, seed: int, num_frames: int, version: str) -> dict:
    """Compares a job with the one recorded in the folder's manifest and returns that manifest.

    Raises:
        OutputError: naming what differs (config, seed, frame count, version) and both values.
    """
    manifest = json.loads((out_dir / MANIFEST).read_text())
    problems = []
    if manifest.get("config_sha256") != digest:
        problems.append(f"the config differs from the recorded {out_dir / 'config.yaml'}")
    if manifest.get("seed") != seed:
        problems.append(f"seed {seed} differs from the recorded seed {manifest.get('seed')}")
    if manifest.get("num_frames") != num_frames:
        problems.append(f"-n {num_frames} differs from the recorded {manifest.get('num_frames')} frames")
    if manifest.get("vizsynth_version") != version:
        problems.append(
            f"vizsynth {version} differs from the recorded {manifest.get('vizsynth_version')} "
            "(frames of two versions must not mix)"
        )
    if problems:
        raise OutputError(f"cannot resume in {out_dir}: " + "; ".join(problems))
    return manifest


def finish_dataset(out_dir: Path, indices: list[int], categories: list[dict], output: OutputConfig,
                   info: dict, manifest: dict) -> dict[str, int]:
    """Writes the label formats from the records of ``indices``, then the final manifest (last).

    The COCO annotations get ``vizsynth validate``'s cheap checks as they are written; problems
    (none are expected) are recorded in the manifest under ``validation`` and raise OutputError.

    Returns:
        {format: labels written}; also recorded in the manifest as ``labels_written``.
    """
    report = ValidationReport(str(out_dir))
    counts = write_labels(out_dir, indices, categories, output, info, report)
    validation = {"problems": dict(report.counts), "examples": dict(report.examples)}
    write_json_atomic(out_dir / MANIFEST, {**manifest, "labels_written": counts, "validation": validation})
    if not report.ok:
        raise OutputError(f"the written labels failed validation (a vizsynth bug, please report it):\n{report.format()}")
    return counts
