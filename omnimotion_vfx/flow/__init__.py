"""Pairwise optical flow and the filtered correspondences the engine is fitted to (see docs/flow.md)."""

from .compute import compute_correspondences
from .config import FLOW_PRESETS, FlowConfig
from .correspondences import Correspondences, PairFlow, SparseMatches

__all__ = ["compute_correspondences", "FlowConfig", "FLOW_PRESETS", "Correspondences", "PairFlow", "SparseMatches"]
