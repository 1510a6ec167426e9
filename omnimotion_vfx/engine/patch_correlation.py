"""Normalised cross-correlation of many small patches with one image in one pass (OpenCV's TM_CCOEFF_NORMED).

Appearance re-detection searches whole frames for query patches: on a 100-frame clip that was 46,000
`cv2.matchTemplate` calls of about 4 ms each, one template at a time, each recomputing the image's window
statistics. Here every template searched on the same frame is one output channel of a single convolution,
and the window statistics are computed once per frame (in float64: the variance is a difference of large
sums). Same scores as OpenCV's to float32 precision (tested); windows without contrast score 0.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

TEMPLATES_PER_PASS = 256  # bounds the score maps in memory: 256 x 246 x 246 float32 is 62 MB at 256x256


class FrameCorrelator:
    """One image [H, W, C] (any numeric type), ready to be correlated with templates [K, h, w, C]."""

    def __init__(self, image: np.ndarray, template_shape: tuple[int, int]) -> None:
        self.image = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
        h, w = template_shape
        self.window = h * w
        box = torch.ones(1, 1, h, w, dtype=torch.float64)
        channels = self.image[0].double()[:, None]  # [C, 1, H, W]: each channel on its own
        sums = F.conv2d(channels, box)[:, 0]
        squares = F.conv2d(channels * channels, box)[:, 0]
        # sum over channels of the window's squared deviation from its per-channel mean
        self.window_energy = (squares - sums * sums / self.window).sum(0).clamp_min(0.0)

    def scores(self, templates: np.ndarray) -> np.ndarray:
        """Correlation maps [K, H - h + 1, W - w + 1], each in [-1, 1], of templates [K, h, w, C]."""
        out = []
        for start in range(0, len(templates), TEMPLATES_PER_PASS):
            chunk = torch.from_numpy(np.ascontiguousarray(templates[start:start + TEMPLATES_PER_PASS], dtype=np.float32))
            chunk = chunk.permute(0, 3, 1, 2)
            centred = chunk - chunk.mean(dim=(2, 3), keepdim=True)  # per channel, as OpenCV does for colour
            numerator = F.conv2d(self.image, centred)[0].double()
            energy = (centred.double() ** 2).sum(dim=(1, 2, 3))
            denominator = torch.sqrt(self.window_energy[None] * energy[:, None, None])
            flat = denominator <= 1e-6 * self.window  # a flat window or a flat template: nothing to match
            score = torch.where(flat, torch.zeros_like(numerator), numerator / denominator.clamp_min(1e-12))
            out.append(score.clamp(-1.0, 1.0).float().numpy())
        return np.concatenate(out) if out else np.zeros((0,) + tuple(self.window_energy.shape), np.float32)
