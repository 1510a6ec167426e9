"""Tracker registry: every tracker is built from a clip and then answers `tracks, visible = tracker(queries)`.

Queries and tracks are in plate frame numbers and plate pixels; the `ClipGeometry` inside each tracker does
the proxy scaling. New trackers (the OmniMotion engine, its fast variants) register here under a name that
`omnivfx track --tracker NAME` accepts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from ..clip_geometry import ClipGeometry
from ..errors import InputError
from ..progress import Fraction, ProgressReporter, StopToken


class PointTracker(Protocol):
    """Queries (frame, x, y) [N, 3] in plate frame numbers and plate pixels ->
    tracks [N, T, 2] plate pixels and visible [N, T] bool. `progress`, when given, is called with the fraction
    of the work done (0-1) as it goes: the "queries" stage of a run."""

    def __call__(self, queries: np.ndarray, progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]: ...

    # What the clip's motion field (omnimotion_vfx/motion) is seeded from; dense products read the field.
    geometry: ClipGeometry
    num_frames: int
    size: tuple[int, int]  # (width, height) processing pixels
    device: str

    def track_nodes(self, index: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """0-based frames [N] and processing pixels [N, 2] -> tracks [N, T, 2], visible [N, T]."""
        ...

    def adjacent_flow(self) -> Any:
        """The clip's adjacent flows: `.step(frame, direction)` -> float [H, W, 2] or None."""
        ...


@dataclass
class TrackerContext:
    """Everything a tracker may use besides the pixels: where to cache and checkpoint, progress, stopping, and
    single settings that differ from the preset (plain data: trackers never read the environment)."""

    work_dir: Path
    preset: str
    device: str
    progress: ProgressReporter
    stop: StopToken
    fit_seconds: float = 0.0  # deadline for a per-clip fit, in seconds of fitting (0: the preset's full schedule)
    overrides: dict[str, Any] = field(default_factory=dict)  # dotted settings, e.g. {"trainer.steps": 500}
    reload_only: bool = False  # take the fit already in work_dir, never train (a results folder being read)
    deterministic: bool = False  # a bit-identical fit run to run (the job's --deterministic)


def environment_overrides() -> dict[str, Any]:
    """`OMNIVFX_ENGINE_OVERRIDES`, a JSON object of dotted settings of the run preset (docs/engine.md), for
    experiments and tests; {} when unset."""
    text = os.environ.get("OMNIVFX_ENGINE_OVERRIDES", "").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InputError('OMNIVFX_ENGINE_OVERRIDES must be a JSON object, e.g. {"trainer.steps": 500}')
    return data


TrackerBuilder = Callable[[np.ndarray, ClipGeometry, TrackerContext], tuple[PointTracker, dict[str, Any]]]
_REGISTRY: dict[str, TrackerBuilder] = {}
_PRESETS: dict[str, dict[str, str]] = {}


def register_tracker(name: str, presets: dict[str, str] | None = None) -> Callable[[TrackerBuilder], TrackerBuilder]:
    """Register a builder with the presets it accepts ({name: one-line description}; only `default` when not
    given); `--preset` is checked against them before a plate is read."""

    def wrap(builder: TrackerBuilder) -> TrackerBuilder:
        _REGISTRY[name] = builder
        _PRESETS[name] = dict(presets or {"default": "the tracker's own settings"})
        return builder

    return wrap


def tracker_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def tracker_presets(name: str) -> dict[str, str]:
    """{preset: one-line description} of tracker `name` (the `capabilities` message sends these)."""
    _load_builtin()
    return dict(_PRESETS.get(name, {}))


def build_tracker(name: str, video: np.ndarray, geometry: ClipGeometry, context: TrackerContext) -> tuple[PointTracker, dict[str, Any]]:
    """Build tracker `name`; returns it and the config (a plain dict) that goes into the manifest."""
    _load_builtin()
    if name not in _REGISTRY:
        raise InputError(f"unknown tracker {name!r}; choose one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](video, geometry, context)


def _load_builtin() -> None:
    if _REGISTRY:
        return
    from . import builtin  # noqa: F401  (registers on import)
