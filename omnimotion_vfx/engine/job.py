"""The engine behind the tracker registry: preset -> flow settings + engine config -> fitted tracker.

The engine preset names the flow preset too (`preview` uses the faster DIS preset), so one `--preset` sets a run.
`test` is a tiny preset for the test-suite and smoke runs; it is honest about being inaccurate (docs/engine.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..clip_geometry import ClipGeometry
from ..flow import FlowConfig, compute_correspondences
from ..trackers import TrackerContext
from .config import preset
from .tracker import EngineTracker, fit

FLOW_PRESET_OF = {"paper": "paper", "default": "default", "preview": "preview", "test": "preview"}


def build_engine_tracker(video: np.ndarray, geometry: ClipGeometry, context: TrackerContext) -> tuple[EngineTracker, dict[str, Any]]:
    config = preset(context.preset)
    config.device = context.device
    flow_config = FlowConfig.preset(FLOW_PRESET_OF.get(config.name, "default"))
    correspondences = compute_correspondences(video, flow_config, context.work_dir / "flow", context.progress, context.stop)
    tracker = fit(video, correspondences, config, geometry, context.work_dir / "engine", context.progress, context.stop)
    return tracker, {"engine": config.to_dict(), "flow": FlowConfig.preset(FLOW_PRESET_OF.get(config.name, "default")).__dict__}
