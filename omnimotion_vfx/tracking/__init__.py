"""The tracking job: a plate, queries and settings -> a fitted clip -> a results folder (job.py), the one job
schema every edge reads (job_schema.py), the tracker registry (registry.py, builtin.py), and the OmniMotion
tracker's run presets and builder (presets.py, engine_builder.py, fused_tracker.py: those load torch, so they
are imported only where used).

Names load lazily: the thin client imports `tracking.job_schema` inside a host's Python without numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DEFAULT_TRACKER": ".job_schema", "TrackJob": ".job_schema", "FittedJob": ".job", "fit_job": ".job",
    "load_fitted": ".job", "PointTracker": ".registry", "TrackerContext": ".registry",
    "build_tracker": ".registry", "register_tracker": ".registry", "tracker_names": ".registry",
    "tracker_presets": ".registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
