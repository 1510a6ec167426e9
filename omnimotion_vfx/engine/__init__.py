"""The OmniMotion engine: a per-video model fitted to pairwise correspondences (see docs/engine.md).

`fit(video, correspondences, config, ...)` returns a tracker with `tracks, visible = tracker(queries)` and
`map_points`: the model's own tracks. The product fuses them with the input flow (tracking/fused_tracker.py);
the tracker registry's `omnimotion` entry is tracking/engine_builder.py.
"""

from .config import PRESETS, EngineConfig, preset
from .tracker import EngineTracker, fit

__all__ = ["EngineConfig", "EngineTracker", "PRESETS", "fit", "preset"]
