"""The trackers shipped with the product, registered by name."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..clip_geometry import ClipGeometry
from ..flow.chained_tracker import ChainedFlowConfig, ChainedFlowTracker
from .presets import PRESET_SUMMARIES, RUN_PRESETS, motion_preset, split_flow_overrides, split_motion_overrides
from .registry import TrackerContext, register_tracker


# ChainedFlowConfig.preset maps the engine's preset names onto the chained tracker's few settings.
CHAINED_FLOW_PRESETS = {
    "default": "DIS 'medium' flow chained frame to frame, 3 px cycle test for occlusion",
    "preview": "DIS 'fast' flow: quicker, a little less accurate",
    "fast": "same as preview",
    "paper": "the OmniMotion paper's chained-flow baseline (48 px cycle threshold)",
    "test": "same as default (smoke runs)",
}


@register_tracker("chained-flow", CHAINED_FLOW_PRESETS)
def build_chained_flow(video: np.ndarray, geometry: ClipGeometry, context: TrackerContext):
    config = ChainedFlowConfig.preset(context.preset)
    motion, rest = split_motion_overrides(context.overrides)
    flow, _ = split_flow_overrides(rest)
    tracker = ChainedFlowTracker(video, geometry, config, context.progress, context.work_dir / "flow", context.stop,
                                 flow, context.device)
    return tracker, {**dataclasses.asdict(config), "flow": dataclasses.asdict(tracker.flow_config), "motion": dataclasses.asdict(motion_preset(context.preset).with_overrides(motion))}


@register_tracker("omnimotion", {name: PRESET_SUMMARIES[name] for name in sorted(RUN_PRESETS, key=list(PRESET_SUMMARIES).index)})
def build_omnimotion(video: np.ndarray, geometry: ClipGeometry, context: TrackerContext):
    from .engine_builder import build_engine_tracker  # torch loads only when the engine is used

    return build_engine_tracker(video, geometry, context)
