"""The fusion on flow alone over a clip's strided queries, as the screening benchmarks run it (position_limits,
remaining_evidence): each query's "model" is its own position, so only the flow and the fusion's passes place
it; the presets' flow is computed once per clip into the shared cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnimotion_vfx.evaluation.runner import ClipData, prepare_clip, query_sets
from omnimotion_vfx.evaluation.synthetic import PointSet
from omnimotion_vfx.flow import compute_correspondences
from omnimotion_vfx.fusion import FlowFusion
from omnimotion_vfx.tracking.presets import run_preset
from fusion_levers import flow_cache_folder  # (this folder is on the path of a script run)


@dataclass
class FusedOnFlow:
    clip: ClipData
    sets: dict[str, PointSet]  # {"strided": the queries and their ground truth}
    fusion: FlowFusion
    tracks: np.ndarray  # [N, T, 2] processing pixels
    visible: np.ndarray  # [N, T] as the fusion calls it
    error: np.ndarray  # [N, T] distance to the ground truth, 256 raster
    others: np.ndarray  # [N, T] every frame but the query's own

    @property
    def points(self) -> PointSet:
        return self.sets["strided"]

    @property
    def index(self) -> np.ndarray:
        return self.points.queries[:, 0].astype(int)

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.clip.video.shape[1:3]
        return width, height

    @property
    def to_raster(self) -> float:
        return 256.0 / max(self.size)


def fuse_on_flow_alone(spec, cache: Path) -> FusedOnFlow:
    """One clip's strided queries fused on the presets' flow, without a fitted model."""
    run = run_preset("default")
    clip = prepare_clip(spec)
    sets = query_sets(clip, ("strided",), long_range=False)
    points = sets["strided"]
    frames = len(clip.video)
    index = points.queries[:, 0].astype(int)
    xy = points.queries[:, 1:].astype(np.float64)
    correspondences = compute_correspondences(clip.video, run.flow, flow_cache_folder(cache, spec.name, {}))
    fusion = FlowFusion(correspondences, run.fusion.without_model(), clip.video)
    tracks, visible = fusion.refine(index, np.repeat(xy[:, None], frames, axis=1), np.ones((len(index), frames), bool))
    height, width = clip.video.shape[1:3]
    error = np.linalg.norm(tracks - points.tracks, axis=-1) * 256.0 / max(width, height)
    others = np.ones(visible.shape, bool)
    others[np.arange(len(index)), index] = False
    return FusedOnFlow(clip, sets, fusion, tracks, visible, error, others)
