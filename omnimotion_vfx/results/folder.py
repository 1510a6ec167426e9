"""tracks.npz + manifest.json as defined in the `omnivfx track` contract (docs/results.md).

This module is the only writer and reader of the contract, so the CLI, the daemon, the batch runner and the
exporters agree on it byte for byte. No torch here: exporters and bridges import it.
"""

from __future__ import annotations

import datetime
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputError
from ..npz_arrays import load_npz
from .atomic import atomic_write, atomic_write_json
from .location import absolute_job_paths, plate_relative_to

RESULTS_FORMAT_VERSION = 1
TRACKS_FILE = "tracks.npz"
MANIFEST_FILE = "manifest.json"


@dataclass
class TrackResults:
    """Tracks in plate frame numbers and internal pixel coordinates (top-left origin, pixel centres at +0.5)."""

    frames: np.ndarray  # int32 [T] plate frame numbers
    query_points: np.ndarray  # float32 [N, 3] (frame, x, y)
    tracks: np.ndarray  # float32 [N, T, 2]
    visible: np.ndarray  # bool [N, T]
    names: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None  # where load_results read it from: the QC finds a moved plate relative to it

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, np.int32)
        self.query_points = np.asarray(self.query_points, np.float32).reshape(-1, 3)
        self.tracks = np.asarray(self.tracks, np.float32)
        self.visible = np.asarray(self.visible, bool)
        n, t = len(self.query_points), len(self.frames)
        if self.tracks.shape != (n, t, 2) or self.visible.shape != (n, t):
            raise ValueError(
                f"inconsistent results: {n} queries, {t} frames, tracks {self.tracks.shape}, visible {self.visible.shape}"
            )
        if not self.names:
            self.names = [f"track{i + 1:04d}" for i in range(n)]

    @property
    def resolution(self) -> tuple[int, int]:
        width, height = self.manifest.get("resolution", [0, 0])
        return int(width), int(height)

    def frame_index(self, frame: int) -> int:
        hits = np.nonzero(self.frames == frame)[0]
        if len(hits) == 0:
            raise InputError(f"frame {frame} is not in the results ({self.frames[0]}-{self.frames[-1]})")
        return int(hits[0])


def build_manifest(
    *,
    plate: str,
    frames: np.ndarray,
    resolution: tuple[int, int],
    tracker: str,
    preset: str,
    config: dict[str, Any],
    timings: dict[str, float],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of the contract. The plate and the job's paths are stored absolute, so the results export
    from any working folder (write_results adds `plate_relative` for a plate moved with its results)."""
    if isinstance(config.get("job"), dict):
        config = dict(config, job=absolute_job_paths(config["job"]))
    manifest = {
        "format": "omnivfx-results",
        "format_version": RESULTS_FORMAT_VERSION,
        "software": {"name": "omnimotion_vfx", "version": __version__, "python": platform.python_version()},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "plate": os.path.abspath(plate),
        "frame_range": [int(frames[0]), int(frames[-1])],
        "frame_count": int(len(frames)),
        "resolution": [int(resolution[0]), int(resolution[1])],
        "tracker": tracker,
        "preset": preset,
        "config": config,
        "timings": {k: round(float(v), 3) for k, v in timings.items()},
    }
    if extra:
        manifest.update(extra)
    return manifest


def write_results(folder: str | os.PathLike, results: TrackResults) -> Path:
    """Write tracks.npz then manifest.json, each atomically; the manifest last marks the folder complete. An
    absolute `plate` gets its path relative to `folder` beside it (`plate_relative`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plate = results.manifest.get("plate")
    if isinstance(plate, str) and os.path.isabs(plate):
        results.manifest["plate_relative"] = plate_relative_to(plate, folder)

    def write_npz(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                frames=results.frames,
                query_points=results.query_points,
                tracks=results.tracks,
                visible=results.visible,
                names=np.asarray(results.names, dtype=str),
            )

    atomic_write(folder / TRACKS_FILE, write_npz)
    atomic_write_json(folder / MANIFEST_FILE, results.manifest)
    return folder


def load_results(folder: str | os.PathLike) -> TrackResults:
    """Read and validate a results folder; a missing or damaged one is an InputError naming the file."""
    folder = Path(folder)
    tracks_path, manifest_path = folder / TRACKS_FILE, folder / MANIFEST_FILE
    for path in (tracks_path, manifest_path):
        if not path.is_file():
            raise InputError(f"{path} not found; run `omnivfx track` first or point to a results folder")
    import json

    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:
        raise InputError(f"{manifest_path} is not valid JSON; re-run `omnivfx track` to rewrite it") from None
    if manifest.get("format_version", 0) > RESULTS_FORMAT_VERSION:
        raise InputError(
            f"{manifest_path} has format version {manifest.get('format_version')}, newer than this omnivfx "
            f"({RESULTS_FORMAT_VERSION}); upgrade omnimotion_vfx"
        )
    try:
        data = load_npz(tracks_path)  # the daemon's workers read results side by side (npz_arrays.py)
        names = [str(n) for n in data["names"]] if "names" in data else []
        return TrackResults(
            frames=data["frames"],
            query_points=data["query_points"],
            tracks=data["tracks"],
            visible=data["visible"],
            names=names,
            manifest=manifest,
            folder=folder,
        )
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(f"{tracks_path} is damaged ({exc}); re-run `omnivfx track`") from None
