"""Single-depth lifting (CaDeX++-style, issue 6): each pixel is lifted to ONE point at an optimisable depth.

Instead of K ray samples composited by a density field, every frame owns a low-resolution depth map
(bilinear, initialised flat at mid-range); a pixel maps through the bijection as one point, so a step costs one
forward and one inverse pass per correspondence instead of K, and there is no compositing.
Occlusion: a point mapped into frame j is hidden when its depth lies behind frame j's own surface at that
pixel (depth map of j) by more than `inference.occlusion_eps_bins` x span / depth_resolution.
The per-frame depth maps and the canonical colour field together fill the model's `canonical` slot (the scene
content the published density field described), so the trainer's parameter groups are unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from .canonical_field import CanonicalField
from .config import EngineConfig
from .grid_bijection import build_bijection
from .grid_lookup import frame_grid_lookup
from .model import ClipModel, RayBatch
from .rendering import contract


class DepthMaps(nn.Module):
    """Per-frame depth maps (stored [1, T, R, R]), read bilinearly at normalised positions."""

    def __init__(self, num_frames: int, resolution: int, near: float, far: float) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.full((1, num_frames, resolution, resolution), (near + far) / 2))

    def forward(self, frames: torch.Tensor, xy_norm: torch.Tensor) -> torch.Tensor:
        return frame_grid_lookup(self.table, frames, (xy_norm + 1) / 2)[:, 0]


class SurfaceField(nn.Module):
    """The scene content of a single-depth model: canonical colour and each frame's visible-surface depth."""

    def __init__(self, num_frames: int, config: EngineConfig) -> None:
        super().__init__()
        near, far = config.render.depth_range
        self.colour = CanonicalField(config.canonical)
        self.depth = DepthMaps(num_frames, config.render.depth_resolution, near, far)


class SingleDepthModel(ClipModel):
    """Same interface as `model.OmniMotionModel` (render, max_weight_canonical, opacity_in_front) with K = 1."""

    def __init__(self, num_frames: int, size: tuple[int, int], config: EngineConfig) -> None:
        super().__init__(num_frames, size, config)
        self.bijection = build_bijection(config.latent.dim, config.bijection, seed=config.trainer.seed)
        self.canonical = SurfaceField(num_frames, config)

    def lift(self, frames: torch.Tensor, xy_norm: torch.Tensor) -> torch.Tensor:
        """Points [N, 1, 3]: each pixel at its frame's surface depth."""
        z = self.canonical.depth(frames, xy_norm)
        return torch.cat([xy_norm, z[:, None]], -1)[:, None, :]

    def render(self, src: torch.Tensor, xy_norm: torch.Tensor, dst: torch.Tensor, codes: torch.Tensor,
               stratified: bool) -> RayBatch:
        points = self.lift(src, xy_norm)
        canonical = self.bijection(points, src, codes)
        _, rgb = self.canonical.colour(contract(canonical))
        mapped = self.bijection.inverse(canonical, dst, codes)
        weights = torch.ones_like(points[..., 2])
        return RayBatch(weights, points[..., 2], canonical, mapped, rgb[:, 0], mapped[:, 0])

    @torch.no_grad()
    def max_weight_canonical(self, src: torch.Tensor, xy_norm: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return self.bijection(self.lift(src, xy_norm), src, codes)[:, 0]

    @torch.no_grad()
    def opacity_in_front(self, frames: torch.Tensor, points: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """1 where the point lies behind frame `frames`' own surface at its pixel (by more than eps), else 0."""
        near, far = self.config.render.depth_range
        eps = self.config.inference.occlusion_eps_bins * (far - near) / self.config.render.depth_resolution
        surface = self.canonical.depth(frames, points[:, :2])
        return (points[:, 2] > surface + eps).float()

