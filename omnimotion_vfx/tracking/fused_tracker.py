"""The product's OmniMotion tracker: the fitted engine's tracks fused with the input flow links.

The engine and the fusion know nothing of each other (each is usable and testable alone); this is the one
place that combines them. The engine maps each query (or every pixel) through the fitted model; where the
fusion is on, the flow links then re-solve query tracks (`FlowFusion.refine`) and carry dense points
(`FlowFusion.carry`), the model's result standing wherever no link reaches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..clip_geometry import ClipGeometry
from ..engine import EngineConfig, EngineTracker, fit
from ..flow.correspondences import Correspondences
from ..fusion import FlowFusion, FusionConfig
from ..progress import ProgressReporter, StopToken

CARRY_CHUNK = 1 << 16  # dense points carried by the flow at once


class FusedEngineTracker:
    """`tracks, visible = tracker(queries)` in plate frames and pixels; `map_points` for dense use. `fusion` is
    None where the run's fusion is off: then this answers exactly as the engine does."""

    def __init__(self, engine: EngineTracker, fusion: FlowFusion | None) -> None:
        self.engine = engine
        self.fusion = fusion

    @property
    def model(self):
        return self.engine.model

    @property
    def geometry(self) -> ClipGeometry:
        return self.engine.geometry

    @property
    def config(self) -> EngineConfig:
        """The engine's config (the fusion's is `fusion.config`)."""
        return self.engine.config

    @property
    def history(self) -> list:
        return self.engine.history

    @property
    def events(self) -> list:
        return self.engine.events

    @property
    def fit_summary(self) -> dict:
        return self.engine.fit_summary

    def __call__(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index, xy = self.geometry.to_internal(queries)
        tracks, visible = self.track_internal(index, xy)
        return self.geometry.to_plate(tracks), visible

    def track_internal(self, index: np.ndarray, xy: np.ndarray, refine: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """0-based query frames [N] and processing pixels [N, 2] -> tracks [N, T, 2] px, visible [N, T].
        `refine=False` gives the model's own tracks (ablations); None or True fuse them where the fusion is on."""
        tracks, visible = self.engine.track_internal(index, xy)
        if refine is not False and self.fusion is not None:
            tracks, visible = self.fusion.refine(np.asarray(index), tracks, visible)
            tracks[np.arange(len(index)), index] = xy
        return tracks, visible

    def map_points(self, src_frame: int, xy: np.ndarray, dst_frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions xy [N, 2] (plate pixels) at plate frame src_frame -> [N, 2] at dst_frame and visible [N].
        The model maps every point; with the fusion on, points the flow carries from src to dst take the flow's
        position (and count as visible)."""
        src, dst = self.geometry.frame_index(src_frame), self.geometry.frame_index(dst_frame)
        pts = self.geometry.points_to_internal(xy)
        if src == dst:
            return self.geometry.to_plate(pts), np.ones(len(pts), bool)
        out, vis = self.engine.map_internal(src, pts, dst)
        if self.fusion is not None:
            for start in range(0, len(pts), CARRY_CHUNK):
                sl = slice(start, start + CARRY_CHUNK)
                out[sl], reached = self.fusion.carry(src, pts[sl].astype(np.float64), dst, out[sl])
                vis[sl] |= reached
        return self.geometry.to_plate(out), vis


def fit_fused(video: np.ndarray, correspondences: Correspondences, engine: EngineConfig, fusion: FusionConfig,
              geometry: ClipGeometry | None = None, work_dir: Path | None = None, progress: ProgressReporter | None = None,
              stop: StopToken | None = None) -> FusedEngineTracker:
    """Fit the engine (or reload it from `work_dir`), then set up the fusion over the same correspondences and
    plate when `fusion.enabled`. The fusion is built after the fit: it re-points the flows at its own stack."""
    tracker = fit(video, correspondences, engine, geometry, work_dir, progress, stop)
    return FusedEngineTracker(tracker, FlowFusion(correspondences, fusion, video) if fusion.enabled else None)
