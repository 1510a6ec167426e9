"""The shot list of `omnivfx batch`: many `TrackJob`s with batch-level defaults, in TOML, YAML or JSON.

    [defaults]                 # any TrackJob field; a shot's own value wins
    tracker = "chained-flow"
    grid = 16

    [[shots]]
    name = "sh010"             # optional; the plate path by default
    plate = "sh010/plate.%04d.exr"
    frames = "1001-1048"
    out = "results/sh010"

Relative paths (plate, queries, out) are relative to the shot list's folder, so a show folder can be moved or
mounted elsewhere on the farm and the list still works.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..tracking.job import TrackJob

PATH_FIELDS = ("plate", "queries", "out")
QUERY_FIELDS = ("queries", "grid", "query_points")


@dataclass(frozen=True)
class Shot:
    """One named job of a batch; the name labels progress, the summary table and errors."""

    name: str
    job: TrackJob


def load_shot_list(path: str | os.PathLike) -> list[Shot]:
    """Read a .toml, .yaml/.yml or .json shot list; every problem is an InputError naming the shot and field."""
    path = Path(path)
    data = _read_document(path)
    if not isinstance(data, dict) or not isinstance(data.get("shots"), list) or not data["shots"]:
        raise InputError(f"{path}: expected a 'shots' list (and optional 'defaults'); see docs/batch.md")
    unknown = sorted(set(data) - {"shots", "defaults"})
    if unknown:
        raise InputError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; only 'defaults' and 'shots' are allowed")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError(f"{path}: 'defaults' must be a table/mapping of TrackJob fields")
    shots = [_make_shot(path, i, entry, defaults) for i, entry in enumerate(data["shots"])]
    _check_unique(path, shots)
    return shots


def _read_document(path: Path) -> Any:
    suffix = path.suffix.lower()
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read shot list {path}: {exc.strerror or exc}") from None
    if suffix == ".toml":
        import tomllib

        parse, errors = tomllib.loads, (tomllib.TOMLDecodeError,)
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise InputError(f"{path}: YAML needs PyYAML (installed with Ray); use .toml or .json instead") from None
        parse, errors = yaml.safe_load, (yaml.YAMLError,)
    elif suffix == ".json":
        parse, errors = json.loads, (json.JSONDecodeError,)
    else:
        raise InputError(f"{path}: unknown shot list format {suffix!r}; use .toml, .yaml/.yml or .json")
    try:
        return parse(text)
    except errors as exc:
        kind = "YAML" if suffix == ".yml" else suffix[1:].upper()
        raise InputError(f"{path} is not valid {kind}: {' '.join(str(exc).split())}") from None


def _make_shot(path: Path, index: int, entry: Any, defaults: dict[str, Any]) -> Shot:
    if not isinstance(entry, dict):
        raise InputError(f"{path}: shot {index + 1} must be a table/mapping of TrackJob fields")
    own = dict(entry)
    name = str(own.pop("name", "") or own.get("plate") or f"shot {index + 1}")
    merged = dict(defaults)
    if any(key in own for key in QUERY_FIELDS):  # a shot's own queries replace the defaults' kind of queries
        for key in QUERY_FIELDS:
            merged.pop(key, None)
    merged.update(own)
    for key in PATH_FIELDS:
        if isinstance(merged.get(key), str):
            merged[key] = _resolve(path.parent, merged[key])
    job = TrackJob.from_dict(merged, source=f"{path}: shot {name!r}")
    return Shot(name, job)


def _resolve(base: Path, value: str) -> str:
    expanded = os.path.expanduser(value)
    return expanded if os.path.isabs(expanded) else str((base / expanded).absolute())


def _check_unique(path: Path, shots: list[Shot]) -> None:
    seen_names: set[str] = set()
    seen_outs: dict[str, str] = {}
    for shot in shots:
        if shot.name in seen_names:
            raise InputError(f"{path}: two shots are named {shot.name!r}; give each shot a unique name")
        seen_names.add(shot.name)
        if shot.job.out:
            out = os.path.normpath(shot.job.out)
            if out in seen_outs:
                raise InputError(f"{path}: shots {seen_outs[out]!r} and {shot.name!r} write to the same out folder {out}")
            seen_outs[out] = shot.name
