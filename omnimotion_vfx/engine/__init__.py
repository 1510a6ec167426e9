"""The OmniMotion engine: a per-video model fitted to pairwise correspondences (see docs/engine.md).

`fit(video, correspondences, config, ...)` returns a tracker with `tracks, visible = tracker(queries)` and
`map_points`; `build_engine_tracker` is the registry entry behind `omnivfx track --tracker omnimotion`.
"""

from .config import PRESETS, EngineConfig, preset
from .job import build_engine_tracker
from .tracker import EngineTracker, fit

__all__ = ["EngineConfig", "EngineTracker", "PRESETS", "build_engine_tracker", "fit", "preset"]
