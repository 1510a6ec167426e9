"""Training batches: which frame pairs and which pixels each optimisation step sees.

Pairs: source frame by frame error (uniform before the first error cache), destination among that frame's
pairs within the current maximum gap (a curriculum that grows with the step), weighted by valid-match counts
with adjacent frames given half the mass. Pixels: 1/sqrt(count + 1) before the first cache (rarely matched
pixels favoured), then half from the blurred error map (hard mining) and half uniform. The published code
swaps half of each batch's pairs (j -> i); here both directions are ordered pairs of the correspondences, so
sampling ordered pairs does the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..flow.correspondences import Correspondences
from .config import SamplerConfig


@dataclass
class Batch:
    src: np.ndarray  # int64 [B]
    dst: np.ndarray  # int64 [B]
    xy: np.ndarray  # float32 [B, 2] processing pixels in src
    target: np.ndarray  # float32 [B, 2] matched position in dst
    weight: np.ndarray  # float32 [B] pair weight (far pairs down-weighted)
    colour: np.ndarray  # float32 [B, 3] pixel colour in src, 0..1


class PairSampler:
    def __init__(self, video: np.ndarray, correspondences: Correspondences, config: SamplerConfig, seed: int) -> None:
        self.video = video
        self.corr = correspondences
        self.config = config
        self.rng = np.random.default_rng(seed)
        t, h, w = video.shape[:3]
        self.num_frames, self.size = t, (w, h)
        self.by_source: list[list[tuple[int, int]]] = [[] for _ in range(t)]
        counts = correspondences.pair_counts()
        self.counts = counts
        for key in sorted(correspondences.pairs):
            if counts[key] > 0:
                self.by_source[key[0]].append(key)
        if correspondences.count_maps is not None:
            count_maps = np.asarray(correspondences.count_maps, np.float32)
        else:
            count_maps = np.zeros((t, h, w), np.float32)
            for (i, _), pair in correspondences.pairs.items():
                count_maps[i] += pair.valid
        self.base_pixel = (1.0 / np.sqrt(count_maps + 1.0)).reshape(t, -1)
        self.frame_weight = np.array([1.0 if self.by_source[i] else 0.0 for i in range(t)])
        self.pixel_cdf = self._cdf(self.base_pixel)
        self.has_cache = False

    @staticmethod
    def _cdf(weights: np.ndarray) -> np.ndarray:
        cdf = np.cumsum(weights, axis=1, dtype=np.float64)
        return cdf / cdf[:, -1:]

    def max_gap(self, step: int) -> int:
        return self.config.max_gap_start + step // max(1, self.config.max_gap_every)

    def update_error_cache(self, frame_error: np.ndarray, error_maps: np.ndarray) -> None:
        """Hard mining: per-frame mean error [T] and per-pixel error maps [T, H, W] of adjacent-pair flow."""
        t = self.num_frames
        blurred = np.stack([cv2.blur(m.astype(np.float32), (5, 5)) for m in error_maps]).reshape(t, -1)
        blurred = blurred / np.maximum(blurred.sum(1, keepdims=True), 1e-12)
        uniform = np.full_like(blurred, 1.0 / blurred.shape[1])
        mix = self.config.error_fraction
        self.pixel_cdf = self._cdf(mix * blurred + (1 - mix) * uniform)
        has_pairs = np.array([bool(self.by_source[i]) for i in range(t)], float)
        self.frame_weight = (np.nan_to_num(frame_error) + 1e-3) * has_pairs
        self.has_cache = True

    def _destinations(self, src: int, max_gap: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        keys = [k for k in self.by_source[src] if abs(k[1] - k[0]) <= max_gap]
        weights = np.array([self.counts[k] for k in keys], np.float64)
        adjacent = np.array([abs(k[1] - k[0]) == 1 for k in keys])
        if adjacent.any() and (~adjacent).any():
            weights[adjacent] *= 0.5 / weights[adjacent].sum()
            weights[~adjacent] *= 0.5 / weights[~adjacent].sum()
        return keys, weights / weights.sum()

    def sample(self, step: int) -> Batch:
        cfg = self.config
        max_gap = self.max_gap(step)
        p = self.frame_weight / self.frame_weight.sum()
        sources = self.rng.choice(self.num_frames, size=cfg.pairs_per_step, p=p)
        w, h = self.size
        parts: list[tuple[np.ndarray, ...]] = []
        for src in sources:
            keys, probs = self._destinations(int(src), max_gap)
            if not keys:
                continue
            key = keys[self.rng.choice(len(keys), p=probs)]
            pair = self.corr.pairs[key]
            flat = np.searchsorted(self.pixel_cdf[src], self.rng.random(2 * cfg.points_per_pair))
            flat = np.minimum(flat, w * h - 1)
            ys, xs = np.divmod(flat, w)
            keep = pair.valid[ys, xs]
            ys, xs = ys[keep][: cfg.points_per_pair], xs[keep][: cfg.points_per_pair]
            xy = np.stack([xs, ys], 1).astype(np.float32) + 0.5
            target = xy + pair.flow[ys, xs].astype(np.float32)
            gap = abs(key[1] - key[0])
            weight = math.cos(min(gap - 1, max_gap) / max(max_gap, 1) * math.pi / 2)
            n = len(xy)
            parts.append((np.full(n, key[0]), np.full(n, key[1]), xy, target, np.full(n, weight, np.float32),
                          self.video[key[0], ys, xs].astype(np.float32) / 255.0))
        cols = [np.concatenate(c) for c in zip(*parts)]
        return Batch(cols[0].astype(np.int64), cols[1].astype(np.int64), cols[2], cols[3], cols[4], cols[5])

    def state_dict(self, with_error_cache: bool = True) -> dict:
        """`with_error_cache=False` leaves out the per-pixel sampling CDF (float64, T x H x W: 600 MB for 36 HD
        frames), which only an unfinished fit needs; a fit continued from such a state rebuilds it at its next
        error-cache refresh and samples uniformly until then."""
        keep = self.has_cache and with_error_cache
        return {"rng": self.rng.bit_generator.state, "pixel_cdf": self.pixel_cdf if keep else None,
                "frame_weight": self.frame_weight}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.frame_weight = state["frame_weight"]
        if state["pixel_cdf"] is not None:
            self.pixel_cdf = state["pixel_cdf"]
            self.has_cache = True
