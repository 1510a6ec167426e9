"""The canonical volume F: density and colour at canonical 3-D points (GaborNet, as published).

Density is what orders surfaces in depth: the photometric loss makes the visible surface opaque where its
colour matches the pixel, so occlusion can later be read from the opacity in front of a mapped point.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .config import CanonicalConfig
from .gabor_net import GaborNet


class CanonicalField(nn.Module):
    def __init__(self, config: CanonicalConfig) -> None:
        super().__init__()
        self.net = GaborNet(3, config.hidden, 4, config.layers, config.input_scale, config.alpha)

    def forward(self, canonical: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Contracted canonical points [..., 3] -> (density sigma [...] >= 0, colour [..., 3] in 0..1)."""
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=canonical.is_cuda):
            raw = self.net(canonical)
        raw = raw.float()
        return F.softplus(raw[..., 3] - 1.0), torch.sigmoid(raw[..., :3])
