"""Small helpers every track exporter shares: host coordinates, file-safe names, where to write."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..results.atomic import atomic_write
from ..results.folder import TrackResults


def plate_size(results: TrackResults) -> tuple[int, int]:
    """(width, height) of the plate; exporters cannot flip y without it."""
    width, height = results.resolution
    if width <= 0 or height <= 0:
        raise InputError("the results manifest has no plate resolution; re-run `omnivfx track` to rewrite it")
    return width, height


def to_bottom_left(tracks: np.ndarray, height: int) -> np.ndarray:
    """Internal (x, y down) pixels -> Nuke/3DEqualizer pixels (x, y up): y' = H - y."""
    out = np.array(tracks, np.float64)
    out[..., 1] = height - out[..., 1]
    return out


def file_safe(name: str) -> str:
    """A track name usable as a file name or a host identifier (letters, digits, _ - .)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return cleaned or "track"


def write_text(path: Path, text: str) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="\n") as handle:
            handle.write(text)

    atomic_write(path, write)
    return path


def fmt(value: float) -> str:
    """Shortest text that keeps 1/1000 pixel (what trackers can resolve; keeps .nk files small)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
