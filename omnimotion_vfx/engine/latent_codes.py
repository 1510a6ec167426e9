"""Per-frame latent codes that condition the bijection.

`gabor` is the published GaborNet of normalised time t = (i + 1) / N. `smooth` is a table of free codes blurred
by a Gaussian over time: neighbouring frames share most of their code, which keeps tracks temporally coherent
(findings.md: unsmoothed per-frame codes tripled the jitter, TC) while still letting each frame move freely.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import LatentConfig
from .gabor_net import GaborNet


class GaborLatentCodes(nn.Module):
    def __init__(self, num_frames: int, config: LatentConfig) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.net = GaborNet(1, config.hidden, config.dim, config.layers, config.input_scale, config.alpha)

    def forward(self) -> torch.Tensor:
        """Codes of every frame, [T, dim] (computed once per step, gathered per sample)."""
        t = (torch.arange(self.num_frames, device=self.net.output.weight.device, dtype=torch.float32) + 1) / self.num_frames
        return self.net(t[:, None])


class SmoothLatentCodes(nn.Module):
    def __init__(self, num_frames: int, config: LatentConfig) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(num_frames, config.dim) * 0.1)
        radius = max(1, int(round(3 * config.smooth_sigma)))
        offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
        kernel = torch.exp(-0.5 * (offsets / max(config.smooth_sigma, 1e-3)) ** 2)
        index = (torch.arange(num_frames)[:, None] + offsets.long()[None]).clamp(0, num_frames - 1)
        weights = torch.zeros(num_frames, num_frames)
        weights.scatter_add_(1, index, kernel.expand(num_frames, -1).contiguous())
        self.register_buffer("blur", weights / weights.sum(1, keepdim=True), persistent=False)

    def forward(self) -> torch.Tensor:
        return self.blur @ self.table


def build_latent_codes(num_frames: int, config: LatentConfig) -> nn.Module:
    if config.kind == "gabor":
        return GaborLatentCodes(num_frames, config)
    if config.kind == "smooth":
        return SmoothLatentCodes(num_frames, config)
    raise ValueError(f"unknown latent code kind {config.kind!r}")
