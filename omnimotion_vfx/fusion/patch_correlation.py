"""Normalised cross-correlation of many small patches with one image in one pass (OpenCV's TM_CCOEFF_NORMED).

Appearance re-detection searches whole frames for query patches: on a 100-frame clip that was 46,000
`cv2.matchTemplate` calls of about 4 ms each, one template at a time, each recomputing the image's window
statistics. Here every template searched on the same frame is one output channel of a single convolution,
and the window statistics are computed once per frame from integral images (in float64: the variance is a
difference of large sums). Same scores as OpenCV's to float32 precision (tested); windows without contrast
score 0.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

TEMPLATES_PER_PASS = 256  # bounds the score maps in memory: 256 x 246 x 246 float32 is 62 MB at 256x256


class FrameCorrelator:
    """One image [H, W, C] (any numeric type), ready to be correlated with templates [K, h, w, C]."""

    def __init__(self, image: np.ndarray, template_shape: tuple[int, int]) -> None:
        pixels = np.ascontiguousarray(image, dtype=np.float32)
        self.image = torch.from_numpy(pixels).permute(2, 0, 1)[None].contiguous()
        h, w = template_shape
        # Window sums from integral images in float64: the variance is a difference of large sums.
        sums, squares = cv2.integral2(pixels.astype(np.float64), sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
        sums = sums.reshape(sums.shape[0], sums.shape[1], -1)
        squares = squares.reshape(squares.shape[0], squares.shape[1], -1)
        window_sum = sums[h:, w:] - sums[:-h, w:] - sums[h:, :-w] + sums[:-h, :-w]
        window_square = squares[h:, w:] - squares[:-h, w:] - squares[h:, :-w] + squares[:-h, :-w]
        # summed over channels: the window's squared deviation from its per-channel mean
        energy = np.maximum((window_square - window_sum * window_sum / (h * w)).sum(-1), 0.0)
        no_contrast = energy <= 1e-6 * h * w  # such a window matches nothing
        inverse_norm = np.where(no_contrast, 0.0, 1.0 / np.sqrt(np.where(no_contrast, 1.0, energy)))
        self.inverse_norm = torch.from_numpy(inverse_norm.astype(np.float32))

    def scores(self, templates: np.ndarray) -> np.ndarray:
        """Correlation maps [K, H - h + 1, W - w + 1], each in [-1, 1], of templates [K, h, w, C]."""
        out = []
        for start in range(0, len(templates), TEMPLATES_PER_PASS):
            chunk = torch.from_numpy(np.ascontiguousarray(templates[start:start + TEMPLATES_PER_PASS], dtype=np.float32))
            chunk = chunk.permute(0, 3, 1, 2).contiguous()  # a channels-last weight makes channels-last maps (slow argmax)
            centred = chunk - chunk.mean(dim=(2, 3), keepdim=True)  # per channel, as OpenCV does for colour
            energy = (centred.double() ** 2).sum(dim=(1, 2, 3))
            inverse = torch.where(energy > 1e-6 * centred[0].numel(), energy.clamp_min(1e-12).rsqrt(), 0.0).float()
            score = F.conv2d(self.image, centred)[0]
            score.mul_(self.inverse_norm[None]).mul_(inverse[:, None, None]).clamp_(-1.0, 1.0)
            out.append(score.numpy())
        return np.concatenate(out) if out else np.zeros((0,) + tuple(self.inverse_norm.shape), np.float32)

    def best_matches(self, templates: np.ndarray, elsewhere: int) -> "BestMatches":
        """Each template's best match on the image and the best one at least `elsewhere` whole pixels from it."""
        found = []
        for start in range(0, len(templates), TEMPLATES_PER_PASS):
            score = torch.from_numpy(self.scores(templates[start:start + TEMPLATES_PER_PASS]))
            found.append(_peaks(score, elsewhere))
        if not found:
            return BestMatches(np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0), np.zeros((0, 4)))
        parts = list(zip(*found))
        return BestMatches(*(np.concatenate(part) for part in parts))


class BestMatches(NamedTuple):
    corner: np.ndarray  # [K, 2] (x, y) of the best window's top-left pixel
    peak: np.ndarray  # [K] its correlation
    runner_up: np.ndarray  # [K] the best correlation at least `elsewhere` pixels away
    around: np.ndarray  # [K, 4] correlation left, right, above, below the peak (NaN beyond the map)


def _peaks(score: torch.Tensor, elsewhere: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Peak, its neighbours and the runner-up of each map [K, H, W], all maps at once (the maps are changed)."""
    k, h, w = score.shape
    flat = score.reshape(k, -1)
    index = torch.from_numpy(np.argmax(flat.numpy(), axis=1))  # numpy's argmax is ~8x torch's here
    rows = torch.arange(k)
    y, x = index // w, index % w
    peak = flat[rows, index]
    around = []
    for dy, dx in ((0, -1), (0, 1), (-1, 0), (1, 0)):
        yy, xx = y + dy, x + dx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        value = score[rows, yy.clamp(0, h - 1), xx.clamp(0, w - 1)]
        around.append(torch.where(inside, value, torch.full_like(value, float("nan"))))
    offsets = torch.arange(-elsewhere, elsewhere + 1)
    yy = (y[:, None, None] + offsets[None, :, None]).clamp(0, h - 1)  # clamped rows stay inside the window
    xx = (x[:, None, None] + offsets[None, None, :]).clamp(0, w - 1)
    score[rows[:, None, None], yy, xx] = -1.0  # in place: peak and neighbours are already copied out
    runner_up = flat.amax(1)
    return (torch.stack([x, y], 1).numpy(), peak.double().numpy(), runner_up.double().numpy(),
            torch.stack(around, 1).double().numpy())
