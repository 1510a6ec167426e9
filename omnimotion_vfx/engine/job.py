"""The engine behind the tracker registry: preset -> flow settings + engine config -> fitted tracker.

The engine preset names the flow preset too (FLOW_PRESET_OF), so one `--preset` sets a run.
`test` is a tiny preset for the test-suite and smoke runs; it is honest about being inaccurate (docs/engine.md).
`OMNIVFX_ENGINE_OVERRIDES` (a JSON object of dotted config fields, e.g. {"trainer.steps": 500}) changes single
settings of the chosen preset for experiments and tests; the manifest records the resulting full config.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import numpy as np

from ..clip_geometry import ClipGeometry
from ..errors import InputError
from ..flow import FlowConfig, compute_correspondences
from ..trackers import TrackerContext
from .config import preset
from .tracker import EngineTracker, fit

# DIS "fast" flows had 4x the median error of "medium" on the suite and cost the engine ~20 AJ: every CPU
# preset uses the default flow; `test` uses the adjacent-only schedule to stay tiny.
FLOW_PRESET_OF = {"paper": "paper", "default": "default", "volumetric": "default", "preview": "default", "test": "adjacent",
                  "fast": "default"}


def build_engine_tracker(video: np.ndarray, geometry: ClipGeometry, context: TrackerContext) -> tuple[EngineTracker, dict[str, Any]]:
    config = preset(context.preset).with_overrides(environment_overrides())
    config.device = context.device
    if context.fit_seconds > 0:
        config.trainer.time_budget_s = float(context.fit_seconds)
    flow_config = FlowConfig.preset(FLOW_PRESET_OF.get(config.name, "default"))
    correspondences = compute_correspondences(video, flow_config, context.work_dir / "flow", context.progress, context.stop)
    tracker = fit(video, correspondences, config, geometry, context.work_dir / "engine", context.progress, context.stop)
    return tracker, {"engine": config.to_dict(), "flow": dataclasses.asdict(flow_config), "fit": tracker.fit_summary}


def environment_overrides() -> dict[str, Any]:
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
