"""Fuse fitted tracks with the input flow: fine motion from flow, long range and gaps from the model.

findings.md: a global fit underfits fine motion (3-5 px median error between adjacent frames where the input
flow has 0.7-2 px) but drifts far less than chaining over long ranges. Each query is therefore tracked in
three passes over the flow's links (every scheduled pair: gaps 1, 2, 4, ...); with the plate, a fourth re-finds
what they lost and places the visible frames more exactly:

1. **Walk** (MFT-like): outward from the query frame, each frame takes the cheapest candidate among the
   cycle-consistent matches from frames already reached, the cost of a path being its summed forward-backward
   errors plus `refine_link_cost_px` per link. Few, precise links win, so a long-gap match from before an
   occlusion beats a chain of short ones that drifted or slid onto the occluder. Frames no match reaches are
   "lost" and keep the fitted model's track: the model bridges occlusions.
2. **Re-solve**: each track is one least-squares problem over its frames: reached frames are pulled to the
   walk (`refine_walk_weight`), lost frames weakly to the model (`refine_model_weight`); every link between
   two reached frames pulls their relative motion towards the flow, weighted by its cycle-consistency
   (`refine_cycle_sigma_px`) and robustly (Cauchy, scale 16 -> 2 px over the iterations); an acceleration
   penalty (`refine_smoothness`) keeps the track coherent (TC) and carries it smoothly through lost frames.
3. **Visibility** (`refine_visibility="flow"`): a frame is visible where it was reached, where a chain of
   agreeing links connects it to the query frame, and where the track agrees (within
   `refine_disagreement_px`) with a link-consensus solve (the same links with no pull to the walk, a weak pull
   to the model on every frame and little smoothing). A point that slid onto an occluder is reached and connected, but the links of the
   surface it left outvote it there. "model" keeps the engine's opacity rule; "both" needs both.
4. **Re-acquisition** (with the video, `reacquire`): lost frames re-found from tracked points of the query's own
   surface (surface_reacquisition.py), then frames still lost re-detected by their appearance over the whole
   frame (appearance_redetection.py, `redetect`), join the re-solve as reached and are visible. Last
   (`reacquire_visible`), visible frames are placed where the surface predicts them and the image confirms
   it, and the track solved once more: flow drifts a pixel or more near edges, an affine fitted to many
   supports does not.

Measured on the five 256x256 `standard` clips (docs/engine.md), flow alone, DIS at half resolution: AJ 77.0
where the previous mean-of-matches propagation scored 67.7 and chained flow 64.3, with lower TC.
With the fitted model and full-resolution DIS, passes 1-4 in full: `default` 89.0 AJ against chained flow's 73.5
on those clips, 91.8 against 75.7 on the 480x270 ones (docs/engine.md, 2026-12-03).
"""

from __future__ import annotations

import numpy as np

from ..flow.correspondences import Correspondences, PairFlow
from ..flow.warp import sample_points_of
from ..progress import Fraction, part_of
from .appearance_redetection import AppearanceRedetection
from .config import FusionConfig
from .surface_reacquisition import SurfaceReacquisition

SOLVE_BYTES = 256 << 20  # memory for one chunk of [n, T, T] normal equations
PAIRS_PER_BLOCK = 64  # flow links read at once in a solve (bounds the [pairs, n, 2] arrays)
# Where, in a chunk's progress, the link passes, re-acquisition and re-detection end (placing the visible frames
# takes the rest): their shares of the time on the 36-frame sample plate, 400 queries.
_SHARES = (0.05, 0.1, 0.6)
_SHARES_WITHOUT_REDETECTION = (0.1, 0.25, 0.25)


class FlowFusion:
    """The passes above over one clip's correspondences: `refine` fuses query tracks and the motion field's seeds."""

    def __init__(self, correspondences: Correspondences, config: FusionConfig, video: np.ndarray | None = None) -> None:
        """`video` [T, H, W, C] at the flow's resolution enables surface re-acquisition (`config.reacquire`)."""
        self.num_frames = correspondences.num_frames
        self.size = correspondences.size
        self.config = config
        self.pairs: list[PairFlow] = sorted(correspondences.pairs.values(), key=lambda p: (p.i, p.j))
        w, h = self.size
        # One array, so links are read many pairs at once, in the flows' own dtype (float16 from the flow stage):
        # a float32 copy doubled the flow memory for no precision. Each pair is then re-pointed at its slice,
        # so the flows are held once.
        dtype = np.result_type(*(pair.flow.dtype for pair in self.pairs)) if self.pairs else np.float16
        self.flows = np.empty((len(self.pairs), h, w, 2), dtype)
        for k, pair in enumerate(self.pairs):
            self.flows[k] = pair.flow
            pair.flow = self.flows[k]
        self.scale = max(self.size) / 256.0  # pixel scales are given on a 256 raster
        self.index = {(p.i, p.j): k for k, p in enumerate(self.pairs)}
        self.first = np.array([p.i for p in self.pairs], np.int64)
        self.second = np.array([p.j for p in self.pairs], np.int64)
        self.back = np.array([self.index.get((p.j, p.i), -1) for p in self.pairs], np.int64)  # -1: no reverse pair
        t = self.num_frames
        second = np.zeros((max(t - 2, 0), t))  # rows: x[t-1] - 2 x[t] + x[t+1]
        for r in range(t - 2):
            second[r, r:r + 3] = (1.0, -2.0, 1.0)
        self.acceleration = second.T @ second  # squared acceleration of a track (temporal coherence)
        plate_matches_flow = video is not None and (video.shape[2], video.shape[1]) == tuple(self.size)
        self.reacquisition = (SurfaceReacquisition(video, self._track_supports, config)
                              if plate_matches_flow and config.reacquire else None)
        self.redetection = (AppearanceRedetection(video, self.flow_between, config)
                            if plate_matches_flow and config.reacquire and config.redetect else None)

    def refine(self, query_index: np.ndarray, tracks: np.ndarray, visible: np.ndarray,
               reacquire: bool = True, progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Fitted tracks [N, T, 2] processing pixels and model visibility [N, T] -> fused (tracks, visible).
        `reacquire=False` stops after the link passes (1-3): the motion field's seeded trajectories, where
        re-acquisition costs 20x the time for 0-0.2 AJ (docs/engine.md). `progress` hears the fraction done."""
        out, vis = np.empty_like(tracks), np.empty_like(visible)
        n = len(tracks)
        chunk = max(1, SOLVE_BYTES // (8 * self.num_frames**2))
        for start in range(0, n, chunk):
            sl = slice(start, start + chunk)
            out[sl], vis[sl] = self._refine_chunk(query_index[sl], tracks[sl].astype(np.float64), visible[sl],
                                                  reacquire and self.reacquisition is not None,
                                                  part_of(progress, start / n, min(n, start + chunk) / n))
        return out.astype(np.float32), vis

    def _track_supports(self, frame: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points xy [M, 2] of frames [M] fused from flow alone (no model, no re-acquisition): the surface
        around a query that re-acquisition reasons from."""
        t = self.num_frames
        out, vis = np.empty((len(xy), t, 2)), np.empty((len(xy), t), bool)
        chunk = max(1, SOLVE_BYTES // (8 * t**2))
        for start in range(0, len(xy), chunk):
            sl = slice(start, start + chunk)
            still = np.repeat(xy[sl, None].astype(np.float64), t, axis=1)
            out[sl], vis[sl] = self._refine_chunk(frame[sl], still, np.ones(still.shape[:2], bool), False)
        return out, vis

    def _refine_chunk(self, query_index: np.ndarray, model: np.ndarray, model_visible: np.ndarray,
                      reacquire: bool, progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        walk, reached = self._propagate(query_index, model)
        if cfg.refine_visibility in ("model", "both"):
            reached &= model_visible
            reached[np.arange(len(model)), query_index] = True
        lost = np.where(reached, 0.0, cfg.refine_model_weight)
        consensus = self._solve(query_index, walk, reached, model, np.full(lost.shape, cfg.refine_model_weight),
                                cfg.refine_consensus_smoothness)
        target = np.where(reached[..., None], walk, model)
        pull = lost + reached * cfg.refine_walk_weight
        fused = self._solve(query_index, walk, reached, target, pull, cfg.refine_smoothness)
        visible = self._visibility(query_index, fused, consensus, reached, model_visible)
        if not reacquire or self.reacquisition is None:
            if progress is not None:
                progress(1.0)
            return fused, visible
        share = _SHARES if self.redetection is not None else _SHARES_WITHOUT_REDETECTION
        if progress is not None:
            progress(share[0])
        refound, found = self.reacquisition(query_index, fused, visible, part_of(progress, share[0], share[1]))
        if self.redetection is not None:
            redetected, again = self.redetection(query_index, fused, ~(visible | found), part_of(progress, share[1], share[2]))
            refound = np.where(again[..., None], redetected, refound)
            found |= again
        if found.any():
            reached |= found  # re-found frames join the solve as if the walk had reached them
            target = np.where(found[..., None], refound, target)
            pull = np.where(found, cfg.reacquire_pull, pull)  # re-found positions are checked on the image: trust them
            fused = self._solve(query_index, fused, reached, target, pull, cfg.refine_smoothness)
            kept = np.linalg.norm(fused - refound, axis=-1) < self.scale * cfg.refine_disagreement_px
            visible = visible | (found & kept)
        if cfg.reacquire_visible:
            fused = self._place(query_index, fused, visible, part_of(progress, share[2], 1.0))
        if progress is not None:
            progress(1.0)
        return fused, visible

    def _place(self, query_index: np.ndarray, fused: np.ndarray, visible: np.ndarray,
               progress: Fraction | None = None) -> np.ndarray:
        """Visible frames pulled (`reacquire_pull`) to where the query's surface puts them and the image
        confirms it; the rest of each track held to itself as the last solve left it."""
        cfg = self.config
        placed, on = self.reacquisition.place(query_index, fused, visible, progress)
        if not on.any():
            return fused
        target = np.where(on[..., None], placed, fused)
        pull = np.where(on, cfg.reacquire_pull, np.where(visible, cfg.refine_walk_weight, cfg.refine_model_weight))
        return self._solve(query_index, fused, visible, target, pull, cfg.refine_smoothness)

    def flow_between(self, i: int, j: int, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The scheduled pair (i, j) at points xy [M, 2] of frame i: (flow [M, 2], valid [M]), or None if
        the schedule has no such pair."""
        k = self.index.get((i, j))
        if k is None:
            return None
        flow, valid, _ = self._link_at(k, xy)
        return flow, valid

    def _link(self, k: int, current: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pair k at the track's positions in its first frame: (flow [N, 2], valid [N], cycle error [N] px)."""
        return self._link_at(k, current[:, self.pairs[k].i])

    def _link_at(self, k: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flow, valid, cycle = self._links_at(np.array([k]), pos[None])
        return flow[0], valid[0], cycle[0]

    def _links_at(self, ks: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs ks [B] at positions pos [B, N, 2] of their first frames: (flow [B, N, 2], valid [B, N], cycle
        error [B, N] px, 0 where the schedule has no reverse pair)."""
        w, h = self.size
        flow = sample_points_of(self.flows, ks, pos)
        col = np.clip(pos[..., 0].astype(np.int64), 0, w - 1)
        row = np.clip(pos[..., 1].astype(np.int64), 0, h - 1)
        inside = (pos[..., 0] >= 0) & (pos[..., 0] <= w) & (pos[..., 1] >= 0) & (pos[..., 1] <= h)
        valid = np.stack([self.pairs[k].valid[row[b], col[b]] for b, k in enumerate(ks)])
        cycle = np.zeros(pos.shape[:2])
        back = self.back[ks]
        has = np.nonzero(back >= 0)[0]
        if len(has):
            there = sample_points_of(self.flows, back[has], pos[has] + flow[has])
            cycle[has] = np.linalg.norm(flow[has] + there, axis=-1)
        return flow, valid & inside, cycle

    def _links(self, current: np.ndarray, sigma: float, confidence: bool) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
        """Per pair: (i, j, weight [N], flow at the track's position in i [N, 2]); weights are Cauchy in the
        residual (scale sigma) and, with `confidence`, Gaussian in the cycle error. Pairs are read in blocks."""
        links = []
        cycle_sigma = self.scale * self.config.refine_cycle_sigma_px
        for start in range(0, len(self.pairs), PAIRS_PER_BLOCK):
            ks = np.arange(start, min(start + PAIRS_PER_BLOCK, len(self.pairs)))
            first = np.swapaxes(current[:, self.first[ks]], 0, 1)  # [B, N, 2]
            flow, ok, cycle = self._links_at(ks, first)
            residual = np.linalg.norm(np.swapaxes(current[:, self.second[ks]], 0, 1) - first - flow, axis=-1)
            weight = ok / (1 + (residual / sigma) ** 2)
            if confidence and cycle_sigma > 0:
                weight = weight * np.exp(-0.5 * (cycle / cycle_sigma) ** 2)
            links.extend((int(self.first[k]), int(self.second[k]), weight[b], flow[b]) for b, k in enumerate(ks))
        return links

    def _solve(self, query_index: np.ndarray, init: np.ndarray, reached: np.ndarray, target: np.ndarray,
               pull: np.ndarray, smoothness: float) -> np.ndarray:
        """Least squares per track: per-frame pulls [N, T] towards `target`, robust links between reached
        frames, an acceleration penalty; the query frame pinned."""
        n, t = init.shape[:2]
        rows, frames = np.arange(n), np.arange(t)
        anchor = pull.copy()
        anchor[rows, query_index] = 1e6
        current = init
        for k in range(max(1, self.config.refine_iterations)):
            sigma = self.scale * max(self.config.refine_sigma_px, self.config.refine_sigma_start_px / 2**k)
            a = np.zeros((n, t, t))
            a[:, frames, frames] = anchor
            b = anchor[..., None] * target
            for i, j, c, flow in self._links(current, sigma, confidence=True):
                c = c * (reached[:, i] & reached[:, j])
                a[:, i, i] += c
                a[:, j, j] += c
                a[:, i, j] -= c
                a[:, j, i] -= c
                b[:, i] -= c[:, None] * flow
                b[:, j] += c[:, None] * flow
            a += smoothness * self.acceleration
            current = np.linalg.solve(a, b)
        return current

    def _propagate(self, query_index: np.ndarray, model: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Walk each query outward from its frame; frames no match reaches keep the fitted track.
        Returns (positions [N, T, 2], reached [N, T])."""
        t = model.shape[1]
        out = model.copy()
        reached = np.zeros(model.shape[:2], bool)
        for q in np.unique(query_index):
            rows = np.nonzero(query_index == q)[0]
            positions = out[rows]
            for path in (range(int(q), t), range(int(q), -1, -1)):
                for frame, alive in self._walk(positions, list(path)).items():
                    reached[rows, frame] = alive
            out[rows] = positions
        return out, reached

    def _walk(self, positions: np.ndarray, path: list[int]) -> dict[int, np.ndarray]:
        """Fill positions [M, T, 2] along `path` (path[0] known): each frame takes the cheapest
        cycle-consistent match from a frame already reached (cost: summed cycle errors + a cost per link).
        Returns which points were reached, per frame of the path."""
        m = len(positions)
        link_cost = self.scale * self.config.refine_link_cost_px
        cost = {path[0]: np.zeros(m)}
        for j in path[1:]:
            best = np.full(m, np.inf)
            for i in list(cost):
                k = self.index.get((i, j))
                if k is None:
                    continue
                flow, ok, cycle = self._link(k, positions)
                candidate = cost[i] + link_cost + cycle
                take = ok & (candidate < best)
                best[take] = candidate[take]
                positions[take, j] = positions[take, i] + flow[take]
            cost[j] = best
        return {frame: np.isfinite(c) for frame, c in cost.items()}

    def _connected(self, query_index: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        """bool [N, T]: frames joined to the query frame by a chain of links that agree with the track."""
        n, t = tracks.shape[:2]
        good = [(i, j, c > self.config.refine_support)
                for i, j, c, _ in self._links(tracks, self.scale * self.config.refine_visibility_px, confidence=False)]
        joined = np.zeros((n, t), bool)
        joined[np.arange(n), query_index] = True
        for _ in range(t):
            before = int(joined.sum())
            for i, j, ok in good:
                joined[:, j] |= joined[:, i] & ok
                joined[:, i] |= joined[:, j] & ok
            if int(joined.sum()) == before:
                break
        return joined

    def _visibility(self, query_index: np.ndarray, tracks: np.ndarray, consensus: np.ndarray, reached: np.ndarray,
                    model_visible: np.ndarray) -> np.ndarray:
        mode = self.config.refine_visibility
        w, h = self.size
        inside = (tracks[..., 0] >= 0) & (tracks[..., 0] <= w) & (tracks[..., 1] >= 0) & (tracks[..., 1] <= h)
        if mode == "model":
            visible = model_visible & inside
        else:
            agree = np.linalg.norm(tracks - consensus, axis=-1) < self.scale * self.config.refine_disagreement_px
            visible = inside & reached & agree & self._connected(query_index, tracks)
            if mode == "both":
                visible &= model_visible
        visible[np.arange(len(tracks)), query_index] = True
        return visible
