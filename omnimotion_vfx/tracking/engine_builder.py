"""The `omnimotion` tracker of the registry: run preset -> correspondences -> engine fit -> fused tracker.

One `--preset` names the flow, engine and fusion settings together (presets.py); `context.overrides` (from
`OMNIVFX_ENGINE_OVERRIDES`, read by the job) changes single settings of it. `test` is a tiny preset for the
test-suite and smoke runs; it is honest about being inaccurate (docs/engine.md). The manifest records the
resulting full flow, engine and fusion configs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..clip_geometry import ClipGeometry
from ..flow import compute_correspondences
from ..flow.backends import resolve_backend
from .fused_tracker import FusedEngineTracker, fit_fused
from .presets import run_preset
from .registry import TrackerContext


def build_engine_tracker(video: np.ndarray, geometry: ClipGeometry, context: TrackerContext) -> tuple[FusedEngineTracker, dict[str, Any]]:
    run = run_preset(context.preset).with_overrides(context.overrides)
    run.engine.device = context.device
    run.flow = resolve_backend(run.flow, context.device)  # the manifest names the flow that ran
    if context.fit_seconds > 0:
        run.engine.trainer.time_budget_s = float(context.fit_seconds)
    if context.deterministic:
        run.engine.trainer.deterministic = True
    correspondences = compute_correspondences(video, run.flow, context.work_dir / "flow", context.progress, context.stop,
                                              context.device)
    tracker = fit_fused(video, correspondences, run.engine, run.fusion, geometry, context.work_dir / "engine",
                        context.progress, context.stop, context.reload_only)
    return tracker, {"engine": run.engine.to_dict(), "flow": dataclasses.asdict(run.flow),
                     "fusion": dataclasses.asdict(run.fusion), "motion": dataclasses.asdict(run.motion),
                     "fit": tracker.fit_summary}
