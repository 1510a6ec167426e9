"""Fuse fitted tracks with the input flow: fine motion from flow, long range and gaps from the model.

findings.md: a global fit underfits fine motion (3-5 px median error between adjacent frames where the input
flow has 0.7-2 px) but drifts far less than chaining over long ranges. Here each track is re-solved as a
least-squares problem over all its frames: every flow link between two frames (the flow's gaps 1, 2, 4, ...)
pulls their relative motion towards the flow, a weak per-frame pull keeps the track near the fitted one (no
drift; the only pull where links are missing, e.g. through an occlusion), a small acceleration penalty keeps
the track temporally coherent, and the query frame is pinned.
Links are re-sampled at the current positions each iteration and weighted robustly (Cauchy) with a scale that
shrinks from coarse to fine, so links that disagree with the track (occluders, flow failures) lose their say.

The solve starts from a multi-gap propagation (MFT-like): outward from the query frame, each frame takes the
mean of the cycle-consistent matches from frames already reached (longer gaps weigh more: less drift), and
falls back to the fitted track where no match survives (through occlusions: the model re-finds the point).

Visibility (`refine_visibility`): "flow" marks a frame visible where the final track is supported by agreeing,
cycle-consistent links into or out of that frame (an occluded point has none: links from frames where it is
visible fail the cycle check, links from the occluder move with the occluder); "model" keeps the engine's
opacity rule; "both" needs both.
"""

from __future__ import annotations

import numpy as np

from ..flow.correspondences import Correspondences, PairFlow
from ..flow.warp import sample_points
from .config import InferenceConfig


class FlowFusion:
    def __init__(self, correspondences: Correspondences, config: InferenceConfig) -> None:
        self.num_frames = correspondences.num_frames
        self.size = correspondences.size
        self.config = config
        self.pairs: list[PairFlow] = sorted(correspondences.pairs.values(), key=lambda p: (p.i, p.j))
        self.flows = [p.flow.astype(np.float32) for p in self.pairs]
        self.scale = max(self.size) / 256.0  # pixel scales are given on a 256 raster
        self.index = {(p.i, p.j): k for k, p in enumerate(self.pairs)}
        self._carried: dict[tuple, tuple[np.ndarray, dict[int, np.ndarray]]] = {}  # carry(): walks kept per point set
        t = self.num_frames
        second = np.zeros((max(t - 2, 0), t))  # rows: x[t-1] - 2 x[t] + x[t+1]
        for r in range(t - 2):
            second[r, r:r + 3] = (1.0, -2.0, 1.0)
        self.smoothing = config.refine_smoothness * second.T @ second  # acceleration penalty (temporal coherence)

    def refine(self, query_index: np.ndarray, tracks: np.ndarray, visible: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """tracks [N, T, 2] processing pixels, model visible [N, T] -> refined (tracks, visible)."""
        out, vis = np.empty_like(tracks), np.empty_like(visible)
        for start in range(0, len(tracks), chunk):
            sl = slice(start, start + chunk)
            out[sl], vis[sl] = self._refine_chunk(query_index[sl], tracks[sl].astype(np.float64), visible[sl])
        return out.astype(np.float32), vis

    def _links(self, current: np.ndarray, sigma: float, model_visible: np.ndarray) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
        """Per pair: (i, j, weight [N], flow at the track's position in i [N, 2])."""
        w, h = self.size
        links = []
        gate = self.config.refine_visibility in ("model", "both")
        for pair, field in zip(self.pairs, self.flows):
            i, j = pair.i, pair.j
            pos = current[:, i]
            flow = sample_points(field, pos)
            col = np.clip(pos[:, 0].astype(np.int64), 0, w - 1)
            row = np.clip(pos[:, 1].astype(np.int64), 0, h - 1)
            inside = (pos[:, 0] >= 0) & (pos[:, 0] <= w) & (pos[:, 1] >= 0) & (pos[:, 1] <= h)
            ok = pair.valid[row, col] & inside
            if gate:
                ok &= model_visible[:, i] & model_visible[:, j]
            residual = np.linalg.norm(current[:, j] - pos - flow, axis=1)
            links.append((i, j, ok / (1 + (residual / sigma) ** 2), flow))
        return links

    def _refine_chunk(self, query_index: np.ndarray, model: np.ndarray, model_visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, t = model.shape[:2]
        rows, frames = np.arange(n), np.arange(t)
        anchor = np.full((n, t), self.config.refine_model_weight)
        anchor[rows, query_index] = 1e6
        current = self._propagate(query_index, model)
        iterations = max(1, self.config.refine_iterations)
        for k in range(iterations):
            sigma = self.scale * max(self.config.refine_sigma_px, self.config.refine_sigma_start_px / 2**k)
            a = np.zeros((n, t, t))
            a[:, frames, frames] = anchor
            b = anchor[..., None] * model
            for i, j, c, flow in self._links(current, sigma, model_visible):
                a[:, i, i] += c
                a[:, j, j] += c
                a[:, i, j] -= c
                a[:, j, i] -= c
                b[:, i] -= c[:, None] * flow
                b[:, j] += c[:, None] * flow
            a += self.smoothing
            current = np.linalg.solve(a, b)
        return current, self._visibility(query_index, current, model_visible)

    def _propagate(self, query_index: np.ndarray, model: np.ndarray) -> np.ndarray:
        """Initial tracks: matches chained outward from the query frame over every available gap; frames no
        match reaches keep the fitted track."""
        t = model.shape[1]
        out = model.copy()
        for q in np.unique(query_index):
            rows = np.nonzero(query_index == q)[0]
            positions = out[rows]
            for path in (range(int(q), t), range(int(q), -1, -1)):
                self._walk(positions, list(path))
            out[rows] = positions
        return out

    def _walk(self, positions: np.ndarray, path: list[int]) -> dict[int, np.ndarray]:
        """Fill positions [M, T, 2] along `path` (path[0] known) from cycle-consistent matches of frames
        already reached (weighted by gap); returns which points were reached, per frame of the path."""
        w, h = self.size
        reached = {path[0]: np.ones(len(positions), bool)}
        for j in path[1:]:
            total, weight = np.zeros((len(positions), 2)), np.zeros(len(positions))
            for i, alive in reached.items():
                k = self.index.get((i, j))
                if k is None:
                    continue
                pos = positions[:, i]
                col = np.clip(pos[:, 0].astype(np.int64), 0, w - 1)
                row = np.clip(pos[:, 1].astype(np.int64), 0, h - 1)
                g = abs(j - i) * (alive & self.pairs[k].valid[row, col])
                total += g[:, None] * (pos + sample_points(self.flows[k], pos))
                weight += g
            found = weight > 0
            positions[found, j] = total[found] / weight[found, None]
            reached[j] = found
        return reached

    def carry(self, src: int, xy: np.ndarray, dst: int, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dense use: points xy [M, 2] of frame src carried to dst by the same multi-gap matching; points no
        match reaches take `fallback` [M, 2] (the fitted model's mapping). Returns (xy at dst, reached)."""
        step = 1 if dst >= src else -1
        key = (src, step, xy.shape, hash(xy.tobytes()))
        if key not in self._carried:  # walk once to the clip's end: exporting a frame into every frame is O(T), not O(T^2)
            positions = np.zeros((len(xy), self.num_frames, 2))
            positions[:, src] = xy
            reached = self._walk(positions, list(range(src, self.num_frames if step > 0 else -1, step)))
            while self._carried and sum(p.nbytes for p, _ in self._carried.values()) + positions.nbytes / 2 > 512 << 20:
                self._carried.pop(next(iter(self._carried)))  # bounded memory: oldest walk first
            self._carried[key] = (positions.astype(np.float32), reached)
        positions, reached = self._carried[key]
        return np.where(reached[dst][:, None], positions[:, dst], fallback), reached[dst]

    def _visibility(self, query_index: np.ndarray, tracks: np.ndarray, model_visible: np.ndarray) -> np.ndarray:
        mode = self.config.refine_visibility
        w, h = self.size
        inside = (tracks[..., 0] >= 0) & (tracks[..., 0] <= w) & (tracks[..., 1] >= 0) & (tracks[..., 1] <= h)
        if mode == "model":
            visible = model_visible & inside
        else:
            support = np.zeros(tracks.shape[:2])
            sigma = self.scale * self.config.refine_sigma_px
            for i, j, c, _ in self._links(tracks, sigma, np.ones_like(model_visible)):
                support[:, i] += c
                support[:, j] += c
            visible = inside & (support >= self.config.refine_support)
            if mode == "both":
                visible &= model_visible
        visible[np.arange(len(tracks)), query_index] = True
        return visible
