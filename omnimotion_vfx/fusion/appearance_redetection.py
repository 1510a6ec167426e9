"""Re-detect a point on frames where neither flow nor its surface found it, by searching the whole frame.

Surface re-acquisition (surface_reacquisition.py) predicts a lost frame from the parts of the point's surface
that flow kept there. A surface that went wholly behind something (or out of frame) for longer than the
flow's reliable links can bridge comes back with nothing tracked on it, and the fused track carries on
with a smooth guess that is a median 93 px off on `busy` (docs/engine.md). There the only signal left is
the point's own appearance, so on each frame still lost:

1. **Search**: the query's patch, at a few scales (`redetect_scales`), is correlated with the whole frame
   (normalised cross-correlation: insensitive to gain and offset). The best match must be strong (above
   `redetect_ncc`) and unambiguous: `redetect_margin` above the best match elsewhere in the frame.
2. **Mutual check**: the matched patch, searched the same way over the query's frame, must land back on the
   query (within `redetect_back_px`, as unambiguously). A patch that matches something by chance (a flat
   colour, an edge, a point outside the frame whose look-alike is inside) fails this.
3. **Consistency**: a flow link must carry the match onto another matched or visible frame of the same track
   (within `redetect_confirm_px`); a lone match that nothing else agrees with is dropped.
4. **Follow**: frames next to a kept match are reached by flow from it and kept where the patch still
   correlates above `redetect_follow_ncc` within a pixel there (frames the search missed, e.g. at a
   slightly wrong scale).

Kept frames join the fusion's re-solve like re-acquired ones (reached, pulled by `reacquire_pull`) and are
visible. Cost: one correlation per lost frame and scale; all those on one frame share one batched pass
(patch_correlation.py; re-detection of `busy` 73 -> 11 s with identical tracks, docs/engine.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..progress import Fraction
from .config import FusionConfig
from .patch_correlation import FrameCorrelator
from .surface_reacquisition import _ncc, _patch

LinkFlow = Callable[[int, int, np.ndarray], "tuple[np.ndarray, np.ndarray] | None"]  # (i, j, xy [M, 2] in i) -> (flow, valid)
ELSEWHERE_PX = 4  # the runner-up match is looked for at least this far (whole pixels) from the best


class AppearanceRedetection:
    """Finds lost frames of query tracks by appearance alone; see the module notes."""

    def __init__(self, video: np.ndarray, link_flow: LinkFlow, config: FusionConfig) -> None:
        self.frames = video  # [T, H, W, C] processing pixels
        self.link_flow = link_flow
        self.config = config
        h, w = video.shape[1:3]
        self.scale = max(w, h) / 256.0  # pixel scales are given on a 256 raster
        self.radius = config.reacquire_patch_px

    def __call__(self, query_index: np.ndarray, tracks: np.ndarray, lost: np.ndarray,
                 progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Tracks [N, T, 2] and lost frames [N, T] -> (positions [N, T, 2], found [N, T]) on the lost frames.
        `progress` hears the fraction of the frames searched (the search is nearly all of the time)."""
        positions = tracks.copy()
        found = np.zeros(lost.shape, bool)
        rows = np.nonzero(lost.any(axis=1))[0]
        scales = tuple(self.config.redetect_scales)
        templates = {int(row): {s: self._template(self.frames[int(query_index[row])], tracks[row, int(query_index[row])],
                                                  np.eye(2) / s) for s in scales} for row in rows}
        candidates = self._search_all(templates, rows, lost, scales, progress)
        kept = self._mutual_all(candidates, query_index, tracks)
        for row in rows:
            scale_at: dict[int, float] = {}
            for t in np.nonzero(lost[row])[0]:  # frame order, as the follow step expects
                if (int(row), int(t)) in kept:
                    position, s = candidates[(int(row), int(t))]
                    positions[row, t], found[row, t] = position, True
                    scale_at[int(t)] = s
            self._confirm(positions[row], found[row], lost[row], scale_at)
            self._follow(positions[row], found[row], lost[row], scale_at, templates[int(row)])
        return positions, found

    def _template(self, image: np.ndarray, centre: np.ndarray, linear: np.ndarray) -> np.ndarray:
        side = 2 * self.radius + 1
        return _patch(image, centre, linear, self.radius).reshape(side, side, -1).astype(np.float32)

    def _best_many(self, frame: int, templates: list[np.ndarray]) -> list[tuple[np.ndarray, float, float]]:
        """For each template, where it matches frame best (sub-pixel centre), the correlation there and the
        best correlation at least ELSEWHERE_PX away. Many templates share one batched pass over the frame."""
        if not templates:
            return []
        side = 2 * self.radius + 1
        best = FrameCorrelator(self.frames[frame], (side, side)).best_matches(np.stack(templates), ELSEWHERE_PX)
        return [(corner + _parabola_offsets(peak, around) + self.radius, float(peak), float(runner_up))
                for corner, peak, runner_up, around in zip(best.corner.astype(np.float64), best.peak, best.runner_up, best.around)]

    def _search_all(self, templates: dict[int, dict[float, np.ndarray]], rows: np.ndarray, lost: np.ndarray,
                    scales: tuple[float, ...], progress: Fraction | None = None) -> dict[tuple[int, int], tuple[np.ndarray, float]]:
        """Each lost (row, frame): the best scale's match, if strong and unambiguous, as (position, scale).
        Frame by frame, so every template searched on a frame goes through one batched correlation."""
        out: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
        for t in range(lost.shape[1]):
            if progress is not None:
                progress(t / lost.shape[1])
            here = [int(row) for row in rows if lost[row, t]]
            if not here:
                continue
            results = self._best_many(t, [templates[row][s] for row in here for s in scales])
            for i, row in enumerate(here):
                best = None
                for k, s in enumerate(scales):
                    where, peak, runner_up = results[i * len(scales) + k]
                    if best is None or peak > best[1]:
                        best = (where, peak, runner_up, s)
                where, peak, runner_up, s = best
                if peak > self.config.redetect_ncc and peak - runner_up > self.config.redetect_margin:
                    out[(row, t)] = (where, s)
        return out

    def _mutual_all(self, candidates: dict[tuple[int, int], tuple[np.ndarray, float]], query_index: np.ndarray,
                    tracks: np.ndarray) -> set[tuple[int, int]]:
        """The candidates whose matched patch, searched over the query's frame, lands back on the query
        (grouped by query frame, one batched correlation each). A patch that matches something by chance (a
        flat colour, an edge, a point outside the frame whose look-alike is inside) fails this."""
        by_query_frame: dict[int, list[tuple[int, int]]] = {}
        for row, t in candidates:
            by_query_frame.setdefault(int(query_index[row]), []).append((row, t))
        kept = set()
        for q, keys in by_query_frame.items():
            backs = [self._template(self.frames[t], candidates[(row, t)][0], candidates[(row, t)][1] * np.eye(2))
                     for row, t in keys]
            for (row, t), (where, peak, runner_up) in zip(keys, self._best_many(q, backs)):
                if (peak - runner_up > self.config.redetect_margin
                        and float(np.linalg.norm(where - tracks[row, q])) < self.scale * self.config.redetect_back_px):
                    kept.add((row, t))
        return kept

    def _confirm(self, positions: np.ndarray, found: np.ndarray, lost: np.ndarray, scale_at: dict[int, float]) -> None:
        """Drops (in place) matches no flow link carries onto another match or a visible frame of the track."""
        anchors = np.nonzero(found | ~lost)[0]
        tolerance = self.scale * self.config.redetect_confirm_px
        alone = []
        for t in np.nonzero(found)[0]:
            agreed = False
            for u in anchors:
                link = self.link_flow(int(t), int(u), positions[t][None]) if u != t else None
                if link is not None and link[1][0] and np.linalg.norm(positions[t] + link[0][0] - positions[u]) < tolerance:
                    agreed = True
                    break
            if not agreed:
                alone.append(t)
        for t in alone:
            found[t] = False
            scale_at.pop(int(t), None)

    def _follow(self, positions: np.ndarray, found: np.ndarray, lost: np.ndarray, scale_at: dict[int, float],
                templates: dict[float, np.ndarray]) -> None:
        """Extends (in place) kept matches to neighbouring lost frames by flow, each checked on the image."""
        flat = {s: template.reshape(-1, template.shape[-1]).astype(np.float64) for s, template in templates.items()}
        frontier = list(scale_at)
        while frontier:
            t = frontier.pop()
            for u in (t - 1, t + 1):
                if not 0 <= u < len(lost) or not lost[u] or found[u]:
                    continue
                link = self.link_flow(t, u, positions[t][None])
                if link is None or not link[1][0]:
                    continue
                guess = positions[t] + link[0][0]
                template = flat[scale_at[t]]
                score = max(_ncc(template, _patch(self.frames[u], guess + (dx, dy), np.eye(2), self.radius))
                            for dy in (-1, 0, 1) for dx in (-1, 0, 1))
                if score > self.config.redetect_follow_ncc:
                    positions[u], found[u] = guess, True
                    scale_at[u] = scale_at[t]
                    frontier.append(u)


def _parabola_offsets(peak: float, around: np.ndarray) -> np.ndarray:
    """Sub-pixel offset (x, y) of a correlation peak from its neighbours' correlations (left, right, above,
    below; NaN beyond the map): a parabola through the three values per axis."""
    offset = np.zeros(2)
    for axis in (0, 1):
        before, after = around[2 * axis], around[2 * axis + 1]
        curvature = before - 2.0 * peak + after
        if np.isfinite(curvature) and curvature < 0:
            offset[axis] = 0.5 * (before - after) / curvature
    return offset
