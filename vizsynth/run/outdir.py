"""Output folder rules: what vizsynth owns, what it may delete, and how a job starts or resumes.

vizsynth deletes only what it wrote. A folder is a vizsynth dataset when its ``manifest.json`` is
a regular file holding a parsed, versioned vizsynth manifest (``"format": "vizsynth-dataset"``,
or an older manifest with ``vizsynth_version`` and ``num_frames``). ``--overwrite`` then removes
the entries vizsynth writes (``OWNED_FILES``, ``OWNED_DIRS`` and what they hold, checked name by
name), never the folder itself, and refuses, listing them, when anything else is there. It also
refuses the filesystem root, the home folder, the current folder and its ancestors, and mount
points, whatever they hold.

The first thing a job writes is its manifest (status "starting"), so a kill at any moment leaves
a folder that ``--resume`` or ``--overwrite`` accepts. Before that file exists, a folder holding
only start-up leftovers (``START_LEFTOVER``) counts as empty.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import yaml

from vizsynth.config import OutputConfig
from vizsynth.errors import OutputError
from vizsynth.io.coco import CocoWriter
from vizsynth.io.files import TMP_PREFIX, write_json_atomic
from vizsynth.io.labels import write_labels
from vizsynth.maps import FLOW_FOLDERS, MAP_NAMES
from vizsynth.validate import ValidationReport

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "vizsynth-dataset"
MANIFEST_FORMAT_VERSION = 1

# Top-level entries a vizsynth job writes (frames, maps, label formats).
OWNED_FILES = frozenset({MANIFEST, "config.yaml", "annotations.json", "data.yaml"})
# labels/ and data.yaml: the YOLO output of vizsynth before the yolo/ tree (still replaced by --overwrite).
OWNED_DIRS = frozenset({"images", "depth", "instances", "frames", *MAP_NAMES, *FLOW_FOLDERS, "labels", "bop", "mot",
                        "yolo"})
# Names of what the writers put inside each of OWNED_DIRS (at any depth below it): chunk folders
# and numbered files everywhere; a label format's fixed names only inside that format's folder, so
# a user's camera.json among the images is not taken for BOP's.
_CHUNK_DIRS = [r"[0-9]+", "train", "val"]
_NUMBERED_FILES = [r"[0-9]+(_[0-9]+)?\.(png|jpg|json|txt|flo|npy)"]


def _names(dirs: list[str], files: list[str]) -> tuple[re.Pattern, re.Pattern]:
    return re.compile("|".join(dirs)), re.compile("|".join(files))


_FRAME_FOLDER_NAMES = _names(_CHUNK_DIRS, _NUMBERED_FILES)
_FORMAT_FOLDER_NAMES = {
    "bop": _names([*_CHUNK_DIRS, "train_pbr", "models", "models_eval", "rgb", "depth", "mask", "mask_visib"],
                  [*_NUMBERED_FILES, r"obj_[0-9]+\.ply", r"models_info\.json", r"scene_(camera|gt|gt_info)\.json",
                   r"camera\.json", r"dataset_info\.json"]),
    "mot": _names([*_CHUNK_DIRS, "gt"], [*_NUMBERED_FILES, r"gt\.txt", r"seqinfo\.ini"]),
    "yolo": _names([*_CHUNK_DIRS, "images", "labels"], [*_NUMBERED_FILES, r"data\.yaml"]),
    "labels": _names([*_CHUNK_DIRS, "images", "labels"], _NUMBERED_FILES),
}
# What a kill before the first manifest can leave: the manifest's temporary file.
START_LEFTOVER = re.compile(re.escape(TMP_PREFIX) + r"[0-9]+-manifest\.json")
# errnos that mean "this storage cannot take more writes": no retry helps, the user must act.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})

_LISTED = 10  # entries named in a refusal


def config_digest(config_yaml: str) -> str:
    """sha256 of the resolved config's YAML: equal configs give equal digests."""
    return hashlib.sha256(config_yaml.encode()).hexdigest()


def new_manifest(**fields) -> dict:
    """A manifest dict headed by the format marker that ``read_manifest`` recognises."""
    return {"format": MANIFEST_FORMAT, "format_version": MANIFEST_FORMAT_VERSION, **fields}


def read_manifest(out_dir: Path) -> dict:
    """The parsed manifest of a vizsynth dataset folder.

    Raises:
        OutputError: no manifest, a symlink or non-file in its place, unreadable or corrupt JSON,
            or JSON that is not a vizsynth manifest; the message says what to do.
    """
    path = out_dir / MANIFEST
    if path.is_symlink() or not path.is_file():
        what = "is a symlink" if path.is_symlink() else "does not exist" if not path.exists() else "is not a file"
        raise OutputError(f"{path} {what}, so {out_dir} is not a vizsynth dataset")
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise OutputError(
            f"{path} is unreadable or corrupt ({exc}), so vizsynth cannot tell which job {out_dir} holds; "
            "write the dataset to a new folder, or delete this one yourself if it is yours"
        ) from None
    if not _is_vizsynth_manifest(manifest):
        raise OutputError(f"{path} is not a vizsynth manifest (no '\"format\": \"{MANIFEST_FORMAT}\"'), "
                          f"so {out_dir} is not a vizsynth dataset")
    if manifest.get("format_version", MANIFEST_FORMAT_VERSION) > MANIFEST_FORMAT_VERSION:
        raise OutputError(f"{path} has manifest format {manifest['format_version']}, newer than this vizsynth "
                          f"understands ({MANIFEST_FORMAT_VERSION}): use a newer vizsynth")
    return manifest


def _is_vizsynth_manifest(manifest: object) -> bool:
    if not isinstance(manifest, dict):
        return False
    if manifest.get("format") == MANIFEST_FORMAT:
        return isinstance(manifest.get("format_version"), int)
    # Written before the format marker: vizsynth 0.1.0 datasets.
    return isinstance(manifest.get("vizsynth_version"), str) and isinstance(manifest.get("num_frames"), int)


def foreign_entries(out_dir: Path) -> list[Path]:
    """Every path under ``out_dir`` that vizsynth does not write (symlinks included), sorted.

    A folder vizsynth does not own is reported once, not walked.
    """
    foreign = []
    for entry in sorted(out_dir.iterdir()):
        name = entry.name
        if entry.is_symlink():
            foreign.append(entry)
        elif name.startswith(TMP_PREFIX) or (name in OWNED_FILES and entry.is_file()):
            continue
        elif name in OWNED_DIRS and entry.is_dir():
            foreign.extend(_foreign_inside(entry))
        else:
            foreign.append(entry)
    return foreign


def _foreign_inside(folder: Path) -> list[Path]:
    owned_dir, owned_file = _FORMAT_FOLDER_NAMES.get(folder.name, _FRAME_FOLDER_NAMES)
    foreign = []
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        for name in sorted(dirs):
            path = root_path / name
            if path.is_symlink() or not (name.startswith(TMP_PREFIX) or owned_dir.fullmatch(name)):
                foreign.append(path)
                dirs.remove(name)  # not ours: report it, do not walk it
        for name in sorted(files):
            path = root_path / name
            if path.is_symlink() or not (name.startswith(TMP_PREFIX) or owned_file.fullmatch(name)):
                foreign.append(path)
    return foreign


def check_deletable_location(out_dir: Path) -> None:
    """Refuses to delete inside the filesystem root, the home folder, the current folder or its
    ancestors, or a mount point, whatever they hold.

    Raises:
        OutputError: naming the folder and the rule.
    """
    resolved = out_dir.resolve()
    cwd = Path.cwd().resolve()
    home = Path.home().resolve()
    if resolved == Path(resolved.anchor):
        rule = "it is the filesystem root"
    elif resolved == home:
        rule = "it is your home folder"
    elif resolved == cwd or resolved in cwd.parents:
        rule = "it is the current folder or one of its ancestors"
    elif os.path.ismount(resolved):
        rule = "it is a mount point"
    else:
        return
    raise OutputError(f"refusing to delete files in {out_dir} ({resolved}): {rule}; write datasets to a folder "
                      "of their own, or delete the old files yourself")


def clear_dataset(out_dir: Path) -> int:
    """Removes vizsynth's entries from a vizsynth dataset folder; keeps the folder. Returns entries removed.

    Raises:
        OutputError: a protected location, no valid vizsynth manifest, or entries vizsynth did not
            write (listed); nothing is removed then.
    """
    check_deletable_location(out_dir)
    try:
        read_manifest(out_dir)
    except OutputError as exc:
        raise OutputError(f"refusing to overwrite {out_dir}: it does not look like a vizsynth dataset ({exc}); "
                          "vizsynth deletes only its own datasets") from None
    foreign = foreign_entries(out_dir)
    if foreign:
        listed = ", ".join(str(p.relative_to(out_dir)) for p in foreign[:_LISTED])
        more = f" and {len(foreign) - _LISTED} more" if len(foreign) > _LISTED else ""
        raise OutputError(f"refusing to overwrite {out_dir}: it holds {len(foreign)} entries vizsynth did not "
                          f"write ({listed}{more}); move them away or choose another folder")
    removed = 0
    for entry in sorted(out_dir.iterdir(), key=lambda p: p.name != MANIFEST):  # the manifest last
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed += 1
    return removed


def _start_leftovers(entries: list[Path]) -> bool:
    return all(START_LEFTOVER.fullmatch(e.name) and e.is_file() and not e.is_symlink() for e in entries)


def prepare_output(out_dir: Path, *, overwrite: bool, resume: bool, can_resume: bool = True) -> dict | None:
    """Makes ``out_dir`` ready for a job (``can_resume``: whether the command has --resume, for messages).

    Returns:
        The recorded manifest when a job is resumed, else None (the folder is then absent or empty
        and the caller writes the first manifest). ``--resume`` of an absent or empty folder starts
        the job.

    Raises:
        OutputError: a path that is not a folder; a non-empty folder without --overwrite/--resume;
            a refused --overwrite (see ``clear_dataset``); an unreadable manifest on --resume.
    """
    if resume and overwrite:
        raise OutputError("--resume and --overwrite exclude each other: resume keeps frames, overwrite deletes them")
    if out_dir.is_symlink() and not out_dir.is_dir() or out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"output path {out_dir} exists and is not a folder")
    with storage_errors(out_dir):
        entries = list(out_dir.iterdir()) if out_dir.is_dir() else []
    if entries and _start_leftovers(entries):  # a job killed before its first manifest: ours, by name
        for entry in entries:
            entry.unlink()
        entries = []
    if not entries:
        with storage_errors(out_dir):
            out_dir.mkdir(parents=True, exist_ok=True)
        return None
    if resume:
        return read_manifest(out_dir)
    if overwrite:
        with storage_errors(out_dir):
            clear_dataset(out_dir)
        return None
    try:
        manifest = read_manifest(out_dir)
    except OutputError:
        raise OutputError(f"output folder {out_dir} is not empty and is not a vizsynth dataset; "
                          "choose a new or empty folder") from None
    options = "pass --resume to finish that job, or --overwrite to replace it" if can_resume else \
        "pass --overwrite to replace it"
    raise OutputError(f"output folder {out_dir} holds a vizsynth dataset "
                      f"(status {manifest.get('status', 'unknown')!r}); {options}")


def check_resume(out_dir: Path, manifest: dict, *, config_yaml: str, seed: int, num_frames: int,
                 version: str) -> None:
    """Compares a job with the one recorded in the folder's manifest.

    Raises:
        OutputError: naming what differs (config fields, seed, frame count, version) and both values.
    """
    problems = []
    if manifest.get("config_sha256") != config_digest(config_yaml):
        problems.append(_config_difference(out_dir / "config.yaml", config_yaml))
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


def _config_difference(recorded_path: Path, config_yaml: str) -> str:
    """Names the config fields that differ from the recorded config.yaml, with both values."""
    try:
        recorded = yaml.safe_load(recorded_path.read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return f"the config differs from the recorded one ({recorded_path} is missing or unreadable)"
    old, new = _flatten(recorded), _flatten(yaml.safe_load(config_yaml))
    fields = sorted(k for k in old.keys() | new.keys() if old.get(k, "<absent>") != new.get(k, "<absent>"))
    if not fields:
        return f"the config differs from the recorded {recorded_path} (its digest in the manifest does not match)"
    shown = "; ".join(f"{k}: recorded {old.get(k, '<absent>')!r}, now {new.get(k, '<absent>')!r}"
                      for k in fields[:_LISTED])
    more = f" and {len(fields) - _LISTED} more" if len(fields) > _LISTED else ""
    return f"the config differs from the recorded {recorded_path} in {len(fields)} fields ({shown}{more})"


def _flatten(value: object, prefix: str = "") -> dict:
    if isinstance(value, dict) and value:
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


@contextlib.contextmanager
def storage_errors(out_dir: Path) -> Iterator[None]:
    """Turns OSErrors of the output storage (full, quota, read-only, no permission) into one OutputError."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(storage_message(out_dir, exc)) from None


def storage_message(out_dir: Path, exc: OSError) -> str:
    """One line for an OSError of the output folder, with the free space where the disk is full."""
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    message = f"cannot write to output folder {out_dir}: {reason}{where}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        message += f"; {format_bytes(free_bytes(out_dir))} free"
    return message


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem holding ``path`` (or its nearest existing ancestor)."""
    for candidate in (path, *path.resolve().parents):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(candidate).free
    return 0


def format_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def finish_dataset(out_dir: Path, indices: list[int], categories: list[dict], output: OutputConfig,
                   info: dict, manifest: dict, coco: CocoWriter | None = None) -> dict[str, int]:
    """Writes the label formats from the records of ``indices``, then the final manifest (last).

    The COCO annotations get ``vizsynth validate``'s cheap checks as they are written; problems
    (none are expected) are recorded in the manifest under ``validation`` and raise OutputError.
    ``coco``: a COCO writer already given the first of ``indices`` (with its own report).

    Returns:
        {format: labels written}; also recorded in the manifest as ``labels_written``.
    """
    report = coco.report if coco is not None and coco.report is not None else ValidationReport(str(out_dir))
    counts = write_labels(out_dir, indices, categories, output, info, report, coco=coco)
    validation = {"problems": dict(report.counts), "examples": dict(report.examples)}
    write_json_atomic(out_dir / MANIFEST, {**manifest, "labels_written": counts, "validation": validation})
    if not report.ok:
        raise OutputError(f"the written labels failed validation (a vizsynth bug, please report it):\n{report.format()}")
    return counts
