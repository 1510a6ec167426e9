"""Where a results folder goes, whether it can be written, and where its plate is now.

Plates often sit on read-only show storage, so results default to a writable place of the user's choosing
(`$OMNIVFX_RESULTS/<plate folder name>_<plate name>`, else `./omnivfx/...`), never beside the plate. The manifest records the plate
absolutely and relative to the results folder, so a results folder is exported from any working folder, and
still finds its plate after the two were moved together.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InputError

RESULTS_ENV = "OMNIVFX_RESULTS"
JOB_PATH_FIELDS = ("plate", "queries", "out")


def default_results_dir(plate_source: str, plate_name: str) -> Path:
    """`$OMNIVFX_RESULTS/<plate folder name>_<plate name>`, or `./omnivfx/...` when the variable is unset.

    The plate's folder name keeps apart shots whose plates share a name (`sh010/plate.%04d.exr` ->
    `sh010_plate`, `sh020/plate.%04d.exr` -> `sh020_plate`); when the folder already holds another plate's
    results (same names, other place: `a/sh010/plate.%04d.exr`, `b/sh010/plate.%04d.exr`), this is an
    InputError naming `--out`, so no shot silently overwrites another's."""
    plate = os.path.abspath(plate_source)
    plate_folder = _plate_folder(plate)
    root = os.environ.get(RESULTS_ENV) or os.path.join(os.getcwd(), "omnivfx")
    folder = Path(os.path.abspath(root)) / f"{os.path.basename(plate_folder) or 'root'}_{plate_name}"
    other = _recorded_plate(folder)
    if other is not None and not _same_plate(other, plate):
        raise InputError(f"{folder} holds the results of another plate ({other}); pass --out to choose a results "
                         f"folder for {plate}")
    return folder


def ensure_writable(folder: str | os.PathLike, fix: str = "") -> Path:
    """Create `folder` and write and remove a probe file in it, so a read-only place fails before any long
    work, with the fix in the message (`fix`, else: choose another results folder)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".omnivfx-write-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        fix = fix or f"pass --out to a writable folder or set {RESULTS_ENV}"
        raise InputError(f"cannot write results to {os.path.abspath(folder)} ({exc.strerror or exc}); {fix}") from None
    return folder


def absolute_job_paths(job: dict[str, Any]) -> dict[str, Any]:
    """The job's plate, queries CSV and out folder as absolute paths (against the current folder), as the
    manifest records them: a relative path would only mean something in the folder the job was run from."""
    return {k: (os.path.abspath(v) if k in JOB_PATH_FIELDS and isinstance(v, str) and v else v) for k, v in job.items()}


def plate_relative_to(plate: str, folder: str | os.PathLike) -> str:
    """`plate` (absolute) as seen from the results `folder`: found again when both move together."""
    return os.path.relpath(plate, os.path.abspath(folder))


def resolve_plate(manifest: dict[str, Any], results_dir: str | os.PathLike | None) -> str:
    """The plate a results folder was tracked on: its recorded absolute path, else the same plate relative to
    the results folder (`plate_relative`, for a plate moved together with its results); InputError naming both
    places when neither holds it."""
    recorded = manifest.get("plate") or (manifest.get("config", {}).get("job") or {}).get("plate")
    if not recorded:
        raise InputError(f"{results_dir or 'the results'}/manifest.json names no plate; track the plate again")
    if _plate_present(recorded):
        return recorded
    relative = manifest.get("plate_relative")
    if relative and results_dir is not None:
        moved = os.path.normpath(os.path.join(os.path.abspath(results_dir), relative))
        if _plate_present(moved):
            return moved
        raise InputError(f"the plate is neither at {recorded} nor at {moved} (its place relative to the results "
                         "folder); put it back or track it again")
    raise InputError(f"the plate {recorded} does not exist; put it back or track it again")


def _plate_present(path: str) -> bool:
    """A file or folder, or a frame pattern with at least one frame on disk."""
    if os.path.exists(path):
        return True
    from ..io.sequence import scan_frames  # fileseq only: no pixels are read

    try:
        return bool(scan_frames(path).present)
    except InputError:
        return False


def _recorded_plate(folder: Path) -> str | None:
    import json

    try:
        plate = json.loads((folder / "manifest.json").read_text()).get("plate")
    except (OSError, ValueError, AttributeError):
        return None
    return plate if isinstance(plate, str) and plate else None


def _same_plate(recorded: str, plate: str) -> bool:
    """Same file, or frames in the same folder (a pattern and its folder name the same plate)."""
    recorded = os.path.abspath(recorded)
    if recorded == plate:
        return True
    return _plate_folder(recorded) == _plate_folder(plate) and not (os.path.isfile(recorded) or os.path.isfile(plate))


def _plate_folder(plate: str) -> str:
    return plate if os.path.isdir(plate) else os.path.dirname(plate)
