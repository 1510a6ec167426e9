"""The work folder of a results folder (`<results>/work`): what it holds, and removing what is not needed.

    work/flow     the flow cache: large (hundreds of MB for an HD shot), recomputed when a later dense export
                  or pin needs it, so a finished track removes it unless asked to keep it
    work/engine   the fitted engine's checkpoint: kept, so nothing is ever refitted
    work/motion   the seeded motion field: kept, so dense exports do not seed it again

The manifest's `cache_bytes` records the size of work/ after the clean-up, for `omnivfx clean --dry-run`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .atomic import atomic_write_json

WORK_DIR = "work"
FLOW_CACHE = "flow"
KEPT_PARTS = ("engine", "motion")  # removed only by `omnivfx clean --all`


def folder_bytes(folder: str | os.PathLike) -> int:
    """Bytes of the files under `folder` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def work_parts(results_dir: str | os.PathLike, everything: bool = False) -> list[Path]:
    """The work sub-folders a clean removes: the flow cache, and with `everything` also the checkpoint and
    the motion field (then the folder holds no fit: a dense export or pin stops with one line asking for a new
    track, since a reload never trains)."""
    work = Path(results_dir) / WORK_DIR
    names = (FLOW_CACHE, *KEPT_PARTS) if everything else (FLOW_CACHE,)
    return [work / name for name in names if (work / name).exists()]


def clean_work(results_dir: str | os.PathLike, everything: bool = False, dry_run: bool = False) -> dict[Path, int]:
    """Remove the flow cache (and with `everything` the rest of work/); returns each removed folder's bytes.
    `dry_run` only measures. The manifest's `cache_bytes` is updated to what is left."""
    freed = {part: folder_bytes(part) for part in work_parts(results_dir, everything)}
    if not dry_run:
        for part in freed:
            shutil.rmtree(part, ignore_errors=True)
        record_cache_bytes(results_dir)
    return freed


def finish_work(results_dir: str | os.PathLike, keep_cache: bool) -> int:
    """After a successful track: drop the flow cache unless `keep_cache`, record and return what work/ holds."""
    if not keep_cache:
        shutil.rmtree(Path(results_dir) / WORK_DIR / FLOW_CACHE, ignore_errors=True)
    return record_cache_bytes(results_dir)


def record_cache_bytes(results_dir: str | os.PathLike) -> int:
    """Write the size of work/ into the manifest as `cache_bytes` (when the folder has a manifest)."""
    size = folder_bytes(Path(results_dir) / WORK_DIR)
    manifest_path = Path(results_dir) / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return size
    if isinstance(manifest, dict) and manifest.get("cache_bytes") != size:
        manifest["cache_bytes"] = size
        atomic_write_json(manifest_path, manifest)
    return size


def human_bytes(size: int) -> str:
    """1234567 -> '1.2 MB' (decimal units, as `du -h --si` and file browsers show)."""
    value = float(size)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
