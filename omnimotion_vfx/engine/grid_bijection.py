"""Feature-grid conditioned affine couplings with tiny MLPs (the `fast` preset's bijection, issue 6).

Each coupling reads its (scale, shift) from multi-resolution 2-D feature planes over its two kept coordinates
and from the frame code (a 1-D time embedding: the smooth latent table), mixed K-planes style (plane features,
their product with the time features, and the time features) into a one-hidden-layer MLP. The planes hold the
spatial detail that the wide 256-unit MLPs of the published couplings had to synthesise from a positional
encoding, so a 32-unit head suffices and a step costs a few gathers instead of large matmuls.
The condition depends only on the kept coordinates and the frame, so the map stays exactly invertible; the last
layer starts at zero, so the initial map is the identity. Same interface as `bijection.Bijection`.
"""

from __future__ import annotations

import torch
from torch import nn

from .bijection import Bijection, _replace
from .config import BijectionConfig
from .grid_lookup import plane_lookup

# kept coordinates are mapped to [0, 1] grid coordinates: x, y span [-1, 1]; depth spans the render range [0, 2]
_CENTRE = (0.0, 0.0, 1.0)
_HALF_SPAN = 1.25  # a margin beyond the image: couplings move points a little outside before later layers return them


class GridCoupling(nn.Module):
    def __init__(self, changed: int, code_dim: int, config: BijectionConfig) -> None:
        super().__init__()
        self.changed = changed
        self.kept = [d for d in range(3) if d != changed]
        self.max_log_scale = config.max_log_scale
        c = config.grid_channels
        self.planes = nn.ParameterList(
            nn.Parameter(torch.randn(c, config.grid_base * 2**level, config.grid_base * 2**level) * 0.1)
            for level in range(config.grid_levels))
        feat = c * config.grid_levels
        self.time = nn.Linear(code_dim, feat)
        self.head = nn.Sequential(nn.Linear(3 * feat, config.hidden), nn.LeakyReLU(0.2), nn.Linear(config.hidden, 2))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def scale_shift(self, x: torch.Tensor, time_feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = x.shape[:-1]
        kept = x[..., self.kept].reshape(-1, 2)
        centre = kept.new_tensor([_CENTRE[d] for d in self.kept])
        uv = (kept - centre) / (2 * _HALF_SPAN) + 0.5
        plane = torch.cat([plane_lookup(p, uv) for p in self.planes], -1)
        time = time_feat.expand(*shape, -1).reshape(len(uv), -1)
        h = self.head(torch.cat([plane, plane * time, time], -1)).reshape(*shape, 2)
        log_scale = self.max_log_scale * torch.tanh(h[..., 0] / self.max_log_scale)
        return log_scale, h[..., 1]

    def forward(self, x: torch.Tensor, time_feat: torch.Tensor) -> torch.Tensor:
        s, t = self.scale_shift(x, time_feat)
        return _replace(x, self.changed, (x[..., self.changed] - t) * torch.exp(-s))

    def inverse(self, y: torch.Tensor, time_feat: torch.Tensor) -> torch.Tensor:
        s, t = self.scale_shift(y, time_feat)
        return _replace(y, self.changed, y[..., self.changed] * torch.exp(s) + t)


class GridBijection(nn.Module):
    """`forward(x, frames, codes)`: local points x [..., 3] of frames [...] -> canonical; `inverse` the reverse."""

    def __init__(self, code_dim: int, config: BijectionConfig, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        order = torch.cat([torch.randperm(3, generator=gen) for _ in range((config.layers + 2) // 3)])[: config.layers]
        self.layers = nn.ModuleList(GridCoupling(int(d), code_dim, config) for d in order)

    @staticmethod
    def _time(layer: GridCoupling, codes: torch.Tensor, frames: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-frame time features, computed once per frame and gathered per point (broadcast over samples)."""
        out = layer.time(codes)[frames]
        return out.view(*frames.shape, *([1] * (x.dim() - 1 - frames.dim())), out.shape[-1])

    def forward(self, x: torch.Tensor, frames: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, self._time(layer, codes, frames, x))
        return x

    def inverse(self, y: torch.Tensor, frames: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.layers):
            y = layer.inverse(y, self._time(layer, codes, frames, y))
        return y


def build_bijection(code_dim: int, config: BijectionConfig, seed: int = 0) -> nn.Module:
    """`kind="mlp"`: the published Real-NVP couplings; `kind="grid"`: feature-grid couplings with tiny MLPs."""
    if config.kind == "grid":
        return GridBijection(code_dim, config, seed)
    if config.kind == "mlp":
        return Bijection(code_dim, config, seed)
    raise ValueError(f"unknown bijection kind {config.kind!r}")
