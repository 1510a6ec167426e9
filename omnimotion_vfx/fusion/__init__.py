"""The flow-link fusion: fitted tracks re-solved against the input flow links, lost frames re-found from the
query's surface and appearance (docs/engine.md, "Flow fusion"). It reads flow correspondences, the plate and
tracks; it knows nothing of the engine that produced the tracks (tracking/fused_tracker.py combines the two).
"""

from .config import FusionConfig
from .link_fusion import FlowFusion

__all__ = ["FlowFusion", "FusionConfig"]
