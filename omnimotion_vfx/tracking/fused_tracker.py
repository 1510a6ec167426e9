"""The product's OmniMotion tracker: the fitted engine's tracks fused with the input flow links.

The engine and the fusion know nothing of each other (each is usable and testable alone); this is the one
place that combines them. The engine maps each query through the fitted model; where the fusion is on, the
flow links then re-solve the tracks (`FlowFusion.refine`), the model's result standing wherever no link
reaches. Dense products do not come from here but from the clip's motion field (omnimotion_vfx/motion), which
this tracker seeds through `track_nodes`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..clip_geometry import ClipGeometry
from ..engine import EngineConfig, EngineTracker, fit
from ..flow.correspondences import Correspondences
from ..fusion import FlowFusion, FusionConfig
from ..motion.adjacent_flow import FlowPairs
from ..progress import Fraction, ProgressReporter, StopToken, part_of

ENGINE_SHARE = 0.05  # of answering queries with the fusion on: the model's tracks (the fusion's passes take the rest)


class FusedEngineTracker:
    """`tracks, visible = tracker(queries)` in plate frames and pixels; `track_nodes` and `adjacent_flow` seed
    the motion field. `fusion` is None where the run's fusion is off: then this answers as the engine does."""

    def __init__(self, engine: EngineTracker, fusion: FlowFusion | None, correspondences: Correspondences) -> None:
        self.engine = engine
        self.fusion = fusion
        self.correspondences = correspondences
        self.num_frames = correspondences.num_frames
        self.size = correspondences.size
        self.device = str(engine.device)

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

    def __call__(self, queries: np.ndarray, progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        index, xy = self.geometry.to_internal(queries)
        tracks, visible = self.track_internal(index, xy, progress=progress)
        return self.geometry.to_plate(tracks), visible

    def track_internal(self, index: np.ndarray, xy: np.ndarray, refine: bool | None = None,
                       reacquire: bool = True, progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """0-based query frames [N] and processing pixels [N, 2] -> tracks [N, T, 2] px, visible [N, T].
        `refine=False` gives the model's own tracks (ablations); None or True fuse them where the fusion is on
        (`reacquire=False`: the link passes only). `progress` hears the fraction done."""
        fused = refine is not False and self.fusion is not None
        tracks, visible = self.engine.track_internal(index, xy)
        if progress is not None:
            progress(ENGINE_SHARE if fused else 1.0)
        if fused:
            tracks, visible = self.fusion.refine(np.asarray(index), tracks, visible, reacquire=reacquire,
                                                 progress=part_of(progress, ENGINE_SHARE, 1.0))
            tracks[np.arange(len(index)), index] = xy
        return tracks, visible

    def track_nodes(self, index: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The motion field's seeds: model tracks fused by the flow links only (no re-acquisition)."""
        return self.track_internal(index, xy, reacquire=False)

    def adjacent_flow(self) -> FlowPairs:
        return FlowPairs(self.correspondences)


def fit_fused(video: np.ndarray, correspondences: Correspondences, engine: EngineConfig, fusion: FusionConfig,
              geometry: ClipGeometry | None = None, work_dir: Path | None = None, progress: ProgressReporter | None = None,
              stop: StopToken | None = None, reload_only: bool = False) -> FusedEngineTracker:
    """Fit the engine (or reload it from `work_dir`; only that with `reload_only`), then set up the fusion over the
    same correspondences and plate when `fusion.enabled`, on the engine's device. The fusion is built after the
    fit: it re-points the flows at its own stack."""
    tracker = fit(video, correspondences, engine, geometry, work_dir, progress, stop, reload_only)
    fused = FlowFusion(correspondences, fusion, video, tracker.device) if fusion.enabled else None
    return FusedEngineTracker(tracker, fused, correspondences)
