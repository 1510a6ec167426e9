"""Ray samples, the mip-NeRF-360 contraction and alpha compositing (volumetric lifting, as published).

A pixel of frame i is lifted to K points along its orthographic ray (depth in [near, far]); compositing their
densities gives blending weights, so a correspondence is the weighted mix of where those K points land.
Compositing runs in float32 (cumprod of 1 - alpha underflows in bf16).
"""

from __future__ import annotations

import torch


def ray_depths(n: int, samples: int, near: float, far: float, stratified: bool, device: torch.device) -> torch.Tensor:
    """Depths [n, K]: bin centres, or uniformly jittered inside each bin when `stratified` (training)."""
    edges = torch.linspace(near, far, samples + 1, device=device)
    lo, width = edges[:-1], edges[1] - edges[0]
    if stratified:
        return lo + width * torch.rand(n, samples, device=device)
    return (lo + 0.5 * width).expand(n, samples).contiguous()


def contract(x: torch.Tensor) -> torch.Tensor:
    """mip-NeRF-360 contraction: identity inside the unit ball, (2 - 1/|x|) x/|x| outside (bounded input to F)."""
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True).clamp_min(1e-6)
    return torch.where(norm <= 1, x, (2 - 1 / norm) * x / norm)


def blending_weights(sigma: torch.Tensor) -> torch.Tensor:
    """Densities [..., K] -> weights [..., K]: alpha times exclusive transmittance."""
    sigma = sigma.float()
    alpha = 1 - torch.exp(-sigma)
    # cumprod(1 - alpha + 1e-10) as exp(cumsum(log)): the same product, but cumprod's backward asks the host
    # whether any factor is zero (a device sync every step); these factors never are
    trans = torch.exp(torch.cumsum(torch.log(torch.exp(-sigma) + 1e-10), dim=-1))
    trans = torch.cat([torch.ones_like(trans[..., :1]), trans[..., :-1]], -1)
    return alpha * trans


def composite(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Weighted mean over the K samples: weights [..., K], values [..., K, C] -> [..., C]."""
    norm = weights.sum(-1, keepdim=True).clamp_min(1e-6)
    return (weights[..., None] * values).sum(-2) / norm


def distortion(weights: torch.Tensor, depths: torch.Tensor, span: float) -> torch.Tensor:
    """mip-NeRF-360 distortion loss per ray [...]: penalises weight spread along the ray (floaters)."""
    interval = span / depths.shape[-1]
    mid = depths
    pairwise = (weights[..., :, None] * weights[..., None, :] * (mid[..., :, None] - mid[..., None, :]).abs()).sum((-1, -2))
    return pairwise + (weights * weights).sum(-1) * interval / 3
