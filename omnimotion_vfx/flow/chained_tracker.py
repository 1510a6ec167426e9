"""The chained optical-flow tracker: follow each query through adjacent-frame flow, forward and backward.

Occlusion: a point is marked occluded where the forward-backward cycle error of the adjacent flow at its
position exceeds a threshold, or where it leaves the image. This is the "chained flow" baseline of the
OmniMotion paper (which uses a 48 px threshold, preset "paper") and the product's fallback tracker
(`--tracker chained-flow`). Its adjacent flows come from `compute_correspondences`, so they are cached and
shared with the engine's input (same dense parameters, same gap-1 cache files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..clip_geometry import ClipGeometry
from ..progress import Fraction, ProgressReporter, StopToken
from .backends import resolve_backend
from .compute import compute_correspondences
from .config import FlowConfig
from .warp import sample_points

PROGRESS_REPORTS = 20  # progress calls per track_nodes, about (one more per extra query frame)
POINTS_PER_CALL = 256  # followed together, at least: numpy's per-call cost stays small


@dataclass
class ChainedFlowConfig:
    dis_preset: str = "medium"  # ultrafast | fast | medium
    dis_finest_scale: int | None = 0  # 0: DIS down to full resolution (FlowConfig.dis_finest_scale)
    occlusion_cycle_px: float = 3.0  # at 480 lines; scaled with resolution. The paper's baseline uses 48.

    @classmethod
    def preset(cls, name: str) -> "ChainedFlowConfig":
        """The engine preset names mapped onto this tracker: 'paper' is the published baseline."""
        if name == "paper":
            return cls(occlusion_cycle_px=48.0)
        if name in ("preview", "fast"):
            return cls(dis_preset="fast")
        return cls()


class ChainedFlowTracker:
    """`tracks, visible = tracker(queries)` with queries (frame, x, y) in plate frames and pixels."""

    def __init__(
        self,
        video: np.ndarray,
        geometry: ClipGeometry,
        config: ChainedFlowConfig | None = None,
        progress: ProgressReporter | None = None,
        cache_dir: Path | None = None,
        stop: StopToken | None = None,
        flow_overrides: dict[str, Any] | None = None,
        device: str = "cpu",
    ) -> None:
        """`flow_overrides` replace fields of the adjacent flow preset (e.g. {"backend": "torch"}); `device` is
        where a torch flow backend runs (the tracking itself is numpy)."""
        self.config = config or ChainedFlowConfig()
        self.geometry = geometry
        flow_config = FlowConfig.preset("adjacent", dis_preset=self.config.dis_preset,
                                        dis_finest_scale=self.config.dis_finest_scale).with_overrides(flow_overrides or {})
        flow_config = resolve_backend(flow_config, device)
        self.flow_config = flow_config
        correspondences = compute_correspondences(video, flow_config, cache_dir, progress, stop, device)
        t = len(video)
        self.num_frames = t
        self.size = (video.shape[2], video.shape[1])
        self.device = "cpu"
        self.forward = [correspondences.pairs[(i, i + 1)].flow for i in range(t - 1)]
        self.backward = [correspondences.pairs[(i + 1, i)].flow for i in range(t - 1)]
        self.cycle_threshold = flow_config.px(self.config.occlusion_cycle_px, video.shape[1])

    def __call__(self, queries: np.ndarray, progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        index, xy = self.geometry.to_internal(queries)
        tracks, visible = self.track_nodes(index, xy, progress)
        return self.geometry.to_plate(tracks), visible

    def track_nodes(self, index: np.ndarray, xy: np.ndarray, progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """0-based frames [N] and processing pixels [N, 2] -> chained tracks [N, T, 2], visible [N, T]: the
        motion field's seeds. Points are followed independently, so chunks of them (for `progress`) change
        nothing."""
        tracks = np.zeros((len(index), self.num_frames, 2), np.float32)
        visible = np.zeros((len(index), self.num_frames), bool)
        chunk = max(POINTS_PER_CALL, -(-len(index) // PROGRESS_REPORTS))
        done = 0
        for start in np.unique(index):
            rows = np.nonzero(index == start)[0]
            for part in range(0, len(rows), chunk):
                sub = rows[part:part + chunk]
                tracks[sub], visible[sub] = self._follow(np.asarray(xy, np.float64)[sub], int(start))
                done += len(sub)
                if progress is not None:
                    progress(done / len(index))
        return tracks, visible

    def adjacent_flow(self) -> "ChainedFlowTracker":
        return self

    def step(self, frame: int, direction: int) -> np.ndarray | None:
        """The adjacent flow from `frame` to `frame + direction` (the motion field's AdjacentFlow)."""
        if direction == 1 and 0 <= frame < len(self.forward):
            return self.forward[frame]
        if direction == -1 and 1 <= frame <= len(self.backward):
            return self.backward[frame - 1]
        return None

    def _step(self, pos: np.ndarray, frame: int, direction: int) -> tuple[np.ndarray, np.ndarray]:
        """One link: the next position and whether it is visible (cycle-consistent and inside the image)."""
        pair = frame if direction == 1 else frame - 1
        there, back = (self.forward, self.backward) if direction == 1 else (self.backward, self.forward)
        step = sample_points(there[pair], pos)
        nxt = pos + step
        cycle = np.linalg.norm(step + sample_points(back[pair], nxt), axis=1)
        w, h = self.size
        inside = (nxt[:, 0] >= 0) & (nxt[:, 0] <= w) & (nxt[:, 1] >= 0) & (nxt[:, 1] <= h)
        return nxt, inside & (cycle <= self.cycle_threshold)

    def _follow(self, xy: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        t = len(self.forward) + 1
        out = np.zeros((len(xy), t, 2))
        vis = np.zeros((len(xy), t), bool)
        out[:, start] = xy
        vis[:, start] = True
        for direction in (1, -1):
            pos = xy.copy()
            frame = start
            while 0 <= frame + direction < t:
                pos, vis[:, frame + direction] = self._step(pos, frame, direction)
                frame += direction
                out[:, frame] = pos
        return out, vis
