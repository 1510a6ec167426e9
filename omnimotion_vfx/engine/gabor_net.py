"""GaborNet (multiplicative filter network, Fathony et al. 2021): the published latent and canonical networks.

Each layer multiplies the running features by a Gabor filter of the input, so the network is a sum of
band-limited sinusoids whose bandwidth is set by `input_scale` and `alpha` (the Gamma prior of the filter widths).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class GaborFilter(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, weight_scale: float, alpha: float, beta: float = 1.0) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.mu = nn.Parameter(2 * torch.rand(out_dim, in_dim) - 1)
        self.gamma = nn.Parameter(torch.distributions.Gamma(alpha, beta).sample((out_dim,)))
        with torch.no_grad():
            self.linear.weight.mul_(weight_scale * torch.sqrt(self.gamma)[:, None])
            self.linear.bias.uniform_(-math.pi, math.pi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dist = (x * x).sum(-1, keepdim=True) + (self.mu * self.mu).sum(-1) - 2 * x @ self.mu.T
        return torch.sin(self.linear(x)) * torch.exp(-0.5 * dist * self.gamma)


class GaborNet(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int, layers: int, input_scale: float, alpha: float) -> None:
        super().__init__()
        scale = input_scale / math.sqrt(layers + 1)
        self.filters = nn.ModuleList(GaborFilter(in_dim, hidden, scale, alpha / (layers + 1)) for _ in range(layers + 1))
        self.linears = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        bound = math.sqrt(1.0 / hidden)
        for lin in self.linears:
            nn.init.uniform_(lin.weight, -bound, bound)
        self.output = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.filters[0](x)
        for filt, lin in zip(self.filters[1:], self.linears):
            out = filt(x) * lin(out)
        return self.output(out)
