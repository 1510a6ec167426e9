"""Flow baselines of the OmniMotion paper, for the accuracy benchmark only (not product trackers).

- chained flow: the product's "chained-flow" tracker, built through the product registry (not re-implemented).
- direct flow: DIS flow from the query frame straight to every other frame; a point is occluded where the
  forward-backward cycle error at its position exceeds a threshold, or where it leaves the image. It has no
  drift but breaks on large motion, which is the contrast the paper draws.
- flow fusion: the product's multi-gap flow fusion (fusion/link_fusion.py) with no fitted model, each
  query's anchor being its own position in every frame. It is what the engine would give if the fit added
  nothing, so the engine's rows are read against it to see what the fitted model buys.

`build_evaluation_tracker` knows these names and falls back to the product registry, so any product tracker
(the OmniMotion engine once it registers itself) is benchmarked by name next to the baselines.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..clip_geometry import ClipGeometry
from ..flow import compute_correspondences
from ..flow.backends import DisBackend, resolve_backend
from ..flow.warp import sample_points
from ..progress import NullProgress, ProgressReporter
from ..tracking.registry import PointTracker, TrackerContext, build_tracker, tracker_names

BASELINES = ("chained-flow", "direct-flow")  # the paper's two flow baselines


@dataclass
class DirectFlowConfig:
    dis_preset: str = "medium"
    dis_finest_scale: int | None = 0  # as FlowConfig: full-resolution DIS, so both baselines see the engine's flow
    occlusion_cycle_px: float = 3.0  # at 480 lines, scaled with resolution; the paper's baselines use 48

    @classmethod
    def preset(cls, name: str) -> "DirectFlowConfig":
        """Same preset meaning as the chained-flow tracker, so both baselines are compared like for like."""
        if name == "paper":
            return cls(occlusion_cycle_px=48.0)
        if name in ("preview", "fast"):
            return cls(dis_preset="fast")
        return cls()


class DirectFlowTracker:
    """`tracks, visible = tracker(queries)`; flows from each query frame are computed once and reused."""

    def __init__(self, video: np.ndarray, geometry: ClipGeometry, config: DirectFlowConfig | None = None,
                 progress: ProgressReporter | None = None) -> None:
        self.config = config or DirectFlowConfig()
        self.geometry = geometry
        self.progress = progress or NullProgress()
        self.flow = DisBackend(video, self.config.dis_preset, self.config.dis_finest_scale)
        self.frames = len(video)
        self.size = (video.shape[2], video.shape[1])
        self.cycle_threshold = self.config.occlusion_cycle_px * video.shape[1] / 480.0
        self._flows: dict[int, list[tuple[np.ndarray, np.ndarray] | None]] = {}

    def _flows_from(self, src: int) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """(forward src->j, backward j->src) for every frame j (None at j == src), two threads."""
        if src not in self._flows:
            others = [j for j in range(self.frames) if j != src]
            with ThreadPoolExecutor(2) as pool:
                pairs = list(pool.map(lambda j: (self.flow(src, j), self.flow(j, src)), others))
            flows: list[tuple[np.ndarray, np.ndarray] | None] = [None] * self.frames
            for j, pair in zip(others, pairs):
                flows[j] = pair
            self._flows = {src: flows}  # one query frame at a time bounds memory on long clips
        return self._flows[src]

    def _follow(self, xy: np.ndarray, src: int) -> tuple[np.ndarray, np.ndarray]:
        width, height = self.size
        out = np.repeat(xy[:, None], self.frames, axis=1).astype(np.float64)
        vis = np.zeros((len(xy), self.frames), bool)
        vis[:, src] = True
        for j, pair in enumerate(self._flows_from(src)):
            if pair is None:
                continue
            forward, backward = pair
            step = sample_points(forward, xy)
            target = xy + step
            cycle = np.linalg.norm(step + sample_points(backward, target), axis=1)
            inside = (target[:, 0] >= 0) & (target[:, 0] <= width) & (target[:, 1] >= 0) & (target[:, 1] <= height)
            out[:, j] = target
            vis[:, j] = inside & (cycle <= self.cycle_threshold)
        return out, vis

    def __call__(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index, xy = self.geometry.to_internal(queries)
        tracks = np.zeros((len(index), self.frames, 2), np.float32)
        visible = np.zeros((len(index), self.frames), bool)
        starts = np.unique(index)
        self.progress.begin("direct flow", len(starts))
        for start in starts:
            rows = np.nonzero(index == start)[0]
            tracks[rows], visible[rows] = self._follow(xy[rows].astype(np.float64), int(start))
            self.progress.advance()
        self.progress.end()
        return self.geometry.to_plate(tracks), visible



def build_direct_flow(video: np.ndarray, geometry: ClipGeometry, context: TrackerContext) -> tuple[PointTracker, dict[str, Any]]:
    config = DirectFlowConfig.preset(context.preset)
    return DirectFlowTracker(video, geometry, config, context.progress), dataclasses.asdict(config)


class FlowFusionTracker:
    """`tracks, visible = tracker(queries)` from the run preset's flow and fusion settings, without a fit."""

    def __init__(self, video: np.ndarray, geometry: ClipGeometry, context: TrackerContext) -> None:
        from ..engine.tracker import resolve_device  # torch loads only when this baseline is used
        from ..fusion import FlowFusion
        from ..tracking.presets import FLOW_PREFIX, fusion_field, run_preset

        # flow.* and fusion.* overrides reach this baseline (engine keys mean nothing without a fit)
        run = run_preset(context.preset).with_overrides(
            {k: v for k, v in context.overrides.items() if k.startswith(FLOW_PREFIX) or fusion_field(k) is not None})
        self.flow_config = resolve_backend(run.flow, context.device)
        correspondences = compute_correspondences(video, self.flow_config, context.work_dir / "flow", context.progress,
                                                  context.stop, context.device)
        self.fusion = FlowFusion(correspondences, run.fusion.without_model(), video, resolve_device(context.device))
        self.geometry = geometry
        self.frames = len(video)

    def __call__(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index, xy = self.geometry.to_internal(queries)
        anchor = np.repeat(xy[:, None].astype(np.float32), self.frames, axis=1)
        tracks, visible = self.fusion.refine(index, anchor, np.ones(anchor.shape[:2], bool))
        return self.geometry.to_plate(tracks), visible



def build_flow_fusion(video: np.ndarray, geometry: ClipGeometry, context: TrackerContext) -> tuple[PointTracker, dict[str, Any]]:
    tracker = FlowFusionTracker(video, geometry, context)
    return tracker, {"flow": dataclasses.asdict(tracker.flow_config), "fusion": dataclasses.asdict(tracker.fusion.config)}


EVALUATION_TRACKERS: dict[str, Callable[[np.ndarray, ClipGeometry, TrackerContext], tuple[PointTracker, dict[str, Any]]]] = {
    "direct-flow": build_direct_flow,
    "flow-fusion": build_flow_fusion,
}


def evaluation_tracker_names() -> list[str]:
    return sorted(set(tracker_names()) | set(EVALUATION_TRACKERS))


def build_evaluation_tracker(name: str, video: np.ndarray, geometry: ClipGeometry, context: TrackerContext) -> tuple[PointTracker, dict[str, Any]]:
    """An evaluation-only baseline by name, else the product tracker of that name."""
    if name in EVALUATION_TRACKERS:
        return EVALUATION_TRACKERS[name](video, geometry, context)
    return build_tracker(name, video, geometry, context)
