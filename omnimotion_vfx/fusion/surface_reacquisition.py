"""Re-find a point where flow lost it, from the parts of its surface that flow kept.

A point hidden for a while (or moving faster than a flow link can follow) is "lost" by the fusion's walk: no
cycle-consistent chain of links reaches those frames. Parts of the same surface often stay tracked, though
(the other half of an object that passes behind a pole, a fast-moving plate whose centre the coarse links
follow). So, per query with lost frames:

1. **Surface**: a grid of support points around the query in its frame is tracked by the same fusion. The
   supports whose tracks move with the query under one affine map, on every frame where the query is visible,
   are its surface (RANSAC: the query plus two supports define a map per frame; the hypothesis most supports
   agree with wins). Supports on an occluder or the background move differently and drop out.
2. **Prediction**: on each lost frame, an affine map fitted to the surface supports still tracked there
   carries the query across.
3. **Check**: the query's patch, warped by the same map, must match the image at the prediction (normalised
   cross-correlation above `reacquire_ncc`), or one half of it must (left, right, top or bottom, the centre
   included, above `reacquire_half_ncc`): an occluder in front of the point fails both, so a re-found point
   is also a visible one. The half-patch test is for points a few pixels from an edge, their own surface's
   or an occluder's, where the far half of the patch shows something else that moves differently: flow
   loses exactly these points (its windows straddle the edge), and the whole patch fails there too.

Measured on the five 256x256 `standard` clips (docs/engine.md, "Surface re-acquisition").
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..progress import Fraction
from .config import FusionConfig

PointTracker = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # (frame [M], xy [M, 2]) -> tracks, visible
HYPOTHESES = 64
CHECK_FRAMES = 6  # frames where the query is visible that a surface hypothesis is scored on
MIN_SUPPORTS = 4


class SurfaceReacquisition:
    """Predicts lost frames of query tracks from the supports that share their surface; see the module notes."""

    def __init__(self, video: np.ndarray, track_points: PointTracker, config: FusionConfig) -> None:
        self.frames = video  # [T, H, W, C] processing pixels, any dtype cv2.remap reads
        self.track_points = track_points
        self.config = config
        h, w = video.shape[1:3]
        self.size = (w, h)
        self.scale = max(w, h) / 256.0  # pixel scales are given on a 256 raster
        self.halves = _half_patches(config.reacquire_patch_px) if config.reacquire_half_ncc <= 1 else []
        self._supports: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray] | None] = {}  # per query frame and grid

    def __call__(self, query_index: np.ndarray, tracks: np.ndarray, visible: np.ndarray,
                 progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Tracks [N, T, 2] and visibility [N, T] from the fusion -> (positions [N, T, 2], found [N, T]):
        found frames were lost (not visible) and are re-found at `positions`, which are visible there.
        `progress` hears the fraction of the queries done."""
        self._supports.clear()  # a new set of queries: supports tracked for the last one are not needed again
        return self._predict(query_index, tracks, visible, lost=True, progress=progress)

    def place(self, query_index: np.ndarray, tracks: np.ndarray, visible: np.ndarray,
              progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The same prediction and check on visible frames: (positions [N, T, 2], placed [N, T]) where the
        surface puts the point within `reacquire_visible_px` of the track and the image confirms it. Flow
        drifts a pixel or more where its window straddles an edge; the surface's affine, fitted to many
        supports, does not."""
        return self._predict(query_index, tracks, visible, lost=False, progress=progress)

    def _predict(self, query_index: np.ndarray, tracks: np.ndarray, visible: np.ndarray, lost: bool,
                 progress: Fraction | None = None) -> tuple[np.ndarray, np.ndarray]:
        positions = tracks.copy()
        found = np.zeros(visible.shape, bool)
        needs = ~visible.all(axis=1) if lost else visible.sum(axis=1) > 1
        done, total = 0, max(1, int(needs.sum()))
        for q in np.unique(query_index[needs]):
            rows = np.nonzero(needs & (query_index == q))[0]
            grid = self._support_grid(tracks[query_index == q, q])  # around all of the frame's queries
            key = (int(q), grid.tobytes())  # grid points sit on a fixed lattice: the same for both passes
            if key not in self._supports:
                self._supports[key] = self.track_points(np.full(len(grid), q), grid) if len(grid) >= MIN_SUPPORTS else None
            if self._supports[key] is None:
                continue
            supports, support_visible = self._supports[key]
            for row in rows:
                self._reacquire(int(q), tracks[row], visible[row], supports, support_visible, positions[row], found[row], lost)
                done += 1
                if progress is not None:
                    progress(done / total)
        return positions, found

    def _support_grid(self, centres: np.ndarray) -> np.ndarray:
        """Grid points (spacing `reacquire_spacing_px`) within the search radius of any of the centres [K, 2]."""
        w, h = self.size
        step = self.scale * self.config.reacquire_spacing_px
        gx, gy = np.meshgrid(np.arange(step / 2, w, step), np.arange(step / 2, h, step))
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        distance = np.linalg.norm(grid[:, None] - centres[None], axis=-1).min(axis=1)
        return grid[distance < self.scale * self.config.reacquire_radius_px]

    def _reacquire(self, q: int, track: np.ndarray, visible: np.ndarray, supports: np.ndarray, support_visible: np.ndarray,
                   out: np.ndarray, found: np.ndarray, lost: bool) -> None:
        """One query: fills out [T, 2] and found [T] in place on the lost frames it re-finds (`lost`) or the
        visible frames it places."""
        surface = self._surface(q, track, visible, supports, support_visible)
        if surface is None:
            return
        w, h = self.size
        template = _patch(self.frames[q], track[q], np.eye(2), self.config.reacquire_patch_px)
        frames = ~visible if lost else visible.copy()
        frames[q] = False
        for t in np.nonzero(frames)[0]:
            use = surface & support_visible[:, t]
            if use.sum() < MIN_SUPPORTS:
                continue
            affine = _fit_affine(supports[use, q], supports[use, t])
            p = affine[:2].T @ track[q] + affine[2]
            if not (0 <= p[0] <= w and 0 <= p[1] <= h):
                continue
            if not lost and np.linalg.norm(p - track[t]) >= self.scale * self.config.reacquire_visible_px:
                continue  # a visible frame is placed more exactly, never moved onto another surface
            score, p = self._best_match(template, t, p, affine[:2].T)
            if score > 0:
                out[t], found[t] = p, True

    def _best_match(self, template: np.ndarray, t: int, centre: np.ndarray, linear: np.ndarray) -> tuple[float, np.ndarray]:
        """Best margin by which the warped template passes its check, within `reacquire_search_px` whole
        pixels of centre, and where: positive passes."""
        reach = self.config.reacquire_search_px
        best, where = -np.inf, centre
        for dy in range(-reach, reach + 1):
            for dx in range(-reach, reach + 1):
                shifted = centre + (dx, dy)
                score = self._margin(template, _patch(self.frames[t], shifted, linear, self.config.reacquire_patch_px))
                if score > best:
                    best, where = score, shifted
        return best, where

    def _margin(self, template: np.ndarray, patch: np.ndarray) -> float:
        """How far the whole patch, or its best half, correlates above its threshold."""
        margins = [_ncc(template, patch) - self.config.reacquire_ncc]
        margins += [_ncc(template[half], patch[half]) - self.config.reacquire_half_ncc for half in self.halves]
        return max(margins)

    def _surface(self, q: int, track: np.ndarray, visible: np.ndarray, supports: np.ndarray,
                 support_visible: np.ndarray) -> np.ndarray | None:
        """bool [M]: supports that move with the query under one affine map per frame, or None if too few."""
        shown = np.nonzero(visible)[0]
        check = np.unique(shown[np.linspace(0, len(shown) - 1, min(CHECK_FRAMES, len(shown))).round().astype(int)])
        check = check[check != q]
        start = supports[:, q]
        offset = np.linalg.norm(start - track[q], axis=1)
        near = np.nonzero(offset < self.scale * self.config.reacquire_radius_px)[0]
        if len(check) == 0 or len(near) < 2:
            return None
        rng = np.random.default_rng(q)
        pairs = np.array([rng.choice(near, 2, replace=False) for _ in range(HYPOTHESES)])
        source = np.concatenate([np.broadcast_to(track[q], (HYPOTHESES, 1, 2)), start[pairs]], axis=1)  # [H, 3, 2]
        edge1, edge2 = source[:, 1] - source[:, 0], source[:, 2] - source[:, 0]
        area = np.abs(edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0])
        usable = (area > 50 * self.scale**2) & support_visible[pairs][:, :, check].all(axis=(1, 2))
        if not usable.any():
            return None
        pairs, source = pairs[usable], source[usable]
        homogeneous = np.concatenate([source, np.ones(source.shape[:2] + (1,))], axis=-1)  # [H, 3, 3]
        worst = np.zeros((len(pairs), len(supports)))
        seen = np.zeros(len(supports))
        start_h = np.concatenate([start, np.ones((len(start), 1))], axis=1)
        for f in check:
            target = np.concatenate([np.broadcast_to(track[f], (len(pairs), 1, 2)), supports[pairs, f]], axis=1)
            maps = np.linalg.solve(homogeneous, target)  # [H, 3, 2]: exact affine through the three points
            residual = np.linalg.norm(np.einsum("mk,hkd->hmd", start_h, maps) - supports[None, :, f], axis=-1)
            worst = np.maximum(worst, np.where(support_visible[None, :, f], residual, 0.0))
            seen += support_visible[:, f]
        tolerance = self.scale * self.config.reacquire_inlier_px * (1 + offset / (64 * self.scale))
        inliers = (worst < tolerance[None]) & (seen >= len(check) / 2)[None]
        best = inliers[int(np.argmax(inliers.sum(axis=1)))]
        return best if best.sum() >= MIN_SUPPORTS else None


def _fit_affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares affine [3, 2] (rows: x, y, 1) carrying source [K, 2] onto target [K, 2]."""
    homogeneous = np.concatenate([source, np.ones((len(source), 1))], axis=1)
    return np.linalg.lstsq(homogeneous, target, rcond=None)[0]


def _patch(image: np.ndarray, centre: np.ndarray, linear: np.ndarray, radius: int) -> np.ndarray:
    """Pixels [(2r+1)^2, C] on a square grid around centre, the grid first mapped by linear [2, 2]."""
    offsets = np.stack(np.meshgrid(np.arange(-radius, radius + 1), np.arange(-radius, radius + 1)), axis=-1).reshape(-1, 2)
    points = (centre[None] + offsets @ linear.T).astype(np.float32)
    side = 2 * radius + 1
    pixels = cv2.remap(image, points[:, 0].reshape(side, side), points[:, 1].reshape(side, side), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT)
    return pixels.reshape(side * side, -1).astype(np.float64)


def _half_patches(radius: int) -> list[np.ndarray]:
    """Masks over a patch's pixels (as `_patch` orders them): its left, right, top and bottom halves, each
    with the centre row or column."""
    dy, dx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return [(dx <= 0).ravel(), (dx >= 0).ravel(), (dy <= 0).ravel(), (dy >= 0).ravel()]


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two patches: insensitive to gain and offset (lighting changes)."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-6))
