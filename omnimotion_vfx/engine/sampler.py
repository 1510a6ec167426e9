"""Training batches: which frame pairs and which pixels each optimisation step sees.

Pairs: source frame by frame error (uniform before the first error cache), destination among that frame's
pairs within the current maximum gap (a curriculum that grows with the step), weighted by valid-match counts
with adjacent frames given half the mass. Pixels: 1/sqrt(count + 1) before the first cache (rarely matched
pixels favoured), then half from the blurred error map (hard mining) and half uniform. The published code
swaps half of each batch's pairs (j -> i); here both directions are ordered pairs of the correspondences, so
sampling ordered pairs does the same.

Everything a step reads lives on the trainer's device and is drawn with torch from one seeded generator, so a
step never waits for the host. Every batch has the same shape, pairs_per_step x points_per_pair rows: per pair
2 x points_per_pair pixels are drawn and the first points_per_pair valid ones kept (the published rule); rows
left over where too few were valid, or whose source has no pair within the gap, carry `mask` 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..flow.correspondences import Correspondences
from .config import SamplerConfig


@dataclass
class Batch:
    src: torch.Tensor  # int64 [N]
    dst: torch.Tensor  # int64 [N]
    xy: torch.Tensor  # float32 [N, 2] processing pixels in src
    target: torch.Tensor  # float32 [N, 2] matched position in dst
    weight: torch.Tensor  # float32 [N] pair weight (far pairs down-weighted)
    colour: torch.Tensor  # float32 [N, 3] pixel colour in src, 0..1
    mask: torch.Tensor  # float32 [N] 1 for a drawn valid correspondence, 0 for a padding row


def _stack_pairs(correspondences: Correspondences, keys: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """One [P, H, W, 2] flow and [P, H, W] valid array for all pairs; each PairFlow then views its slice, so the
    stack costs no second copy of the flow on the host."""
    w, h = correspondences.size
    flow = np.empty((max(len(keys), 1), h, w, 2), np.float16)
    valid = np.zeros((max(len(keys), 1), h, w), bool)
    for k, key in enumerate(keys):
        pair = correspondences.pairs[key]
        flow[k], valid[k] = pair.flow, pair.valid
        pair.flow, pair.valid = flow[k], valid[k]
    return flow, valid


class PairSampler:
    def __init__(self, video: np.ndarray, correspondences: Correspondences, config: SamplerConfig, seed: int,
                 device: torch.device | str = "cpu") -> None:
        self.corr = correspondences
        self.config = config
        self.device = device = torch.device(device)
        self.generator = torch.Generator(device).manual_seed(seed)
        t, h, w = video.shape[:3]
        self.num_frames, self.size = t, (w, h)
        counts = correspondences.pair_counts()
        keys = [key for key in sorted(correspondences.pairs) if counts[key] > 0]
        self.keys, self._video = keys, video
        self._pixels: tuple[torch.Tensor, ...] | None = None  # flow, valid, pair index, video: built at first draw
        self.counts = torch.from_numpy(counts).to(device, torch.float64)
        has_pairs = self.counts.sum(1) > 0
        self.has_pairs = has_pairs.double()
        if correspondences.count_maps is not None:
            count_maps = torch.as_tensor(np.asarray(correspondences.count_maps, np.float32), device=device)
        else:
            count_maps = np.zeros((t, h, w), np.float32)
            for (i, _), pair in correspondences.pairs.items():
                count_maps[i] += pair.valid
            count_maps = torch.from_numpy(count_maps).to(device)
        self.pixel_cdf = self._cdf((1.0 / torch.sqrt(count_maps.double() + 1.0)).reshape(t, -1))
        self.frame_weight = self.has_pairs.clone()
        self.has_cache = False
        self._dest: tuple[int, torch.Tensor, torch.Tensor] | None = None  # (max gap, probabilities, has any)

    def _pixel_data(self) -> tuple[torch.Tensor, ...]:
        """The pairs' flow [P, H*W, 2] and valid [P, H*W], the pair index [T, T] and the video [T, H*W, C] on the
        device; built at the first draw, so reloading a finished fit never copies the flow stack there."""
        if self._pixels is None:
            (w, h), t = self.size, self.num_frames
            index = np.zeros((t, t), np.int64)
            for k, key in enumerate(self.keys):
                index[key] = k
            flow, valid = _stack_pairs(self.corr, self.keys)
            video = np.ascontiguousarray(self._video)
            self._pixels = (torch.from_numpy(flow).to(self.device).view(len(flow), h * w, 2),
                            torch.from_numpy(valid).to(self.device).view(len(valid), h * w),
                            torch.from_numpy(index).to(self.device),
                            torch.from_numpy(video).to(self.device).view(t, h * w, -1))
        return self._pixels

    @staticmethod
    def _cdf(weights: torch.Tensor) -> torch.Tensor:
        """Per-frame pixel CDFs offset by the frame index and flattened [T * H * W] (float64): one searchsorted
        draws pixels for any mix of frames (frame t's draws are t + u, u in [0, 1))."""
        cdf = torch.cumsum(weights.double(), 1)
        cdf = cdf / cdf[:, -1:]
        return (cdf + torch.arange(len(cdf), device=cdf.device, dtype=torch.float64)[:, None]).reshape(-1)

    def max_gap(self, step: int) -> int:
        return self.config.max_gap_start + step // max(1, self.config.max_gap_every)

    def update_error_cache(self, frame_error: np.ndarray, error_maps: np.ndarray) -> None:
        """Hard mining: per-frame mean error [T] and per-pixel error maps [T, H, W] of adjacent-pair flow."""
        t = self.num_frames
        blurred = np.stack([cv2.blur(m.astype(np.float32), (5, 5)) for m in error_maps]).reshape(t, -1)
        blurred = torch.from_numpy(blurred).to(self.device, torch.float64)
        blurred = blurred / blurred.sum(1, keepdim=True).clamp_min(1e-12)
        mix = self.config.error_fraction
        self.pixel_cdf = self._cdf(mix * blurred + (1 - mix) / blurred.shape[1])
        error = torch.as_tensor(np.nan_to_num(np.asarray(frame_error, np.float64)), device=self.device)
        self.frame_weight = (error + 1e-3) * self.has_pairs
        self.has_cache = True

    def _destinations(self, max_gap: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Destination probabilities [T, T] within `max_gap` (counts; adjacent frames half the mass where a
        frame has both kinds), and which sources have any destination [T]. Cached per max gap."""
        if self._dest is None or self._dest[0] != max_gap:
            t = self.num_frames
            frames = torch.arange(t, device=self.device)
            gap = (frames[None, :] - frames[:, None]).abs()
            weights = torch.where(gap <= max_gap, self.counts, 0.0)
            adjacent = torch.where(gap == 1, weights, 0.0)
            far = weights - adjacent
            adj_sum, far_sum = adjacent.sum(1, keepdim=True), far.sum(1, keepdim=True)
            both = (adj_sum > 0) & (far_sum > 0)
            halves = 0.5 * adjacent / adj_sum.clamp_min(1e-300) + 0.5 * far / far_sum.clamp_min(1e-300)
            weights = torch.where(both, halves, weights)
            total = weights.sum(1, keepdim=True)
            has_any = total[:, 0] > 0
            probs = torch.where(has_any[:, None], weights / total.clamp_min(1e-300), 1.0 / t)
            self._dest = (max_gap, probs, has_any)
        return self._dest[1], self._dest[2]

    def sample(self, step: int) -> Batch:
        cfg, gen = self.config, self.generator
        pairs, points = cfg.pairs_per_step, cfg.points_per_pair
        max_gap = self.max_gap(step)
        w, h = self.size
        flow, valid, pair_index, video = self._pixel_data()
        src = torch.multinomial(self.frame_weight, pairs, replacement=True, generator=gen)
        probs, has_any = self._destinations(max_gap)
        dst = torch.multinomial(probs[src], 1, generator=gen)[:, 0]
        pair = pair_index[src, dst]
        draws = src[:, None] + torch.rand(pairs, 2 * points, generator=gen, device=self.device, dtype=torch.float64)
        flat = torch.searchsorted(self.pixel_cdf, draws) - src[:, None] * (w * h)
        flat = flat.clamp(0, w * h - 1)
        ok = valid[pair[:, None], flat] & has_any[src][:, None]
        first_valid = torch.argsort((~ok).to(torch.uint8), dim=1, stable=True)[:, :points]
        flat, ok = flat.gather(1, first_valid), ok.gather(1, first_valid)
        xy = torch.stack([flat % w, flat // w], -1).float() + 0.5
        target = xy + flow[pair[:, None], flat].float()
        gap = (dst - src).abs().float()
        weight = torch.cos(torch.clamp(gap - 1, max=max_gap) / max(max_gap, 1) * (math.pi / 2))
        colour = video[src[:, None], flat].float() / 255.0
        rows = pairs * points
        return Batch(src.repeat_interleave(points), dst.repeat_interleave(points), xy.reshape(rows, 2),
                     target.reshape(rows, 2), weight.repeat_interleave(points), colour.reshape(rows, -1),
                     ok.reshape(rows).float())

    def state_dict(self, with_error_cache: bool = True) -> dict:
        """`with_error_cache=False` leaves out the per-pixel sampling CDF (float64, T x H x W: 600 MB for 36 HD
        frames), which only an unfinished fit needs; a fit continued from such a state rebuilds it at its next
        error-cache refresh and samples uniformly until then."""
        keep = self.has_cache and with_error_cache
        return {"rng": self.generator.get_state(), "pixel_cdf": self.pixel_cdf.cpu() if keep else None,
                "frame_weight": self.frame_weight.cpu()}

    def load_state_dict(self, state: dict) -> None:
        if isinstance(state["rng"], torch.Tensor):  # an older checkpoint's numpy stream cannot continue here
            self.generator.set_state(state["rng"])
        self.frame_weight = torch.as_tensor(np.asarray(state["frame_weight"]), dtype=torch.float64, device=self.device)
        cdf = state["pixel_cdf"]
        if cdf is not None:
            cdf = torch.as_tensor(np.asarray(cdf), dtype=torch.float64, device=self.device)
            if cdf.dim() == 2:  # older checkpoints: per-frame CDFs [T, H * W]
                cdf = (cdf + torch.arange(len(cdf), device=self.device, dtype=torch.float64)[:, None]).reshape(-1)
            self.pixel_cdf = cdf
            self.has_cache = True
