"""The per-video model: latent codes + bijection + canonical field, and what it renders for a batch of rays.

Points are in normalised frame coordinates: x, y in [-1, 1] across the processing image, depth along the
orthographic ray in [near, far]. Helpers convert to and from processing pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .bijection import Bijection
from .canonical_field import CanonicalField
from .config import EngineConfig
from .latent_codes import build_latent_codes
from .rendering import blending_weights, composite, contract, ray_depths


@dataclass
class RayBatch:
    """Output of rendering rays of frames `src` to frames `dst` (all tensors share the leading ray axis)."""

    weights: torch.Tensor  # [N, K]
    depths: torch.Tensor  # [N, K] sample depths in the source frame
    canonical: torch.Tensor  # [N, K, 3]
    mapped: torch.Tensor  # [N, K, 3] samples mapped into the destination frame
    colour: torch.Tensor  # [N, 3] composited colour
    target: torch.Tensor  # [N, 3] composited destination point


class ClipModel(nn.Module):
    """What every lifting variant shares: the clip's frame codes and the pixel <-> normalised coordinates."""

    def __init__(self, num_frames: int, size: tuple[int, int], config: EngineConfig) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.size = size
        self.config = config
        self.latent = build_latent_codes(num_frames, config.latent)

    def normalise(self, xy: torch.Tensor) -> torch.Tensor:
        w, h = self.size
        return xy / xy.new_tensor([w / 2, h / 2]) - 1

    def to_pixels(self, xy: torch.Tensor) -> torch.Tensor:
        w, h = self.size
        return (xy + 1) * xy.new_tensor([w / 2, h / 2])


class OmniMotionModel(ClipModel):
    def __init__(self, num_frames: int, size: tuple[int, int], config: EngineConfig) -> None:
        super().__init__(num_frames, size, config)
        self.bijection = Bijection(config.latent.dim, config.bijection, seed=config.trainer.seed)
        self.canonical = CanonicalField(config.canonical)

    # --- rendering ---------------------------------------------------------------------------------------
    def lift(self, xy_norm: torch.Tensor, stratified: bool) -> torch.Tensor:
        near, far = self.config.render.depth_range
        z = ray_depths(len(xy_norm), self.config.render.samples, near, far, stratified, xy_norm.device)
        return torch.cat([xy_norm[:, None, :].expand(-1, z.shape[1], -1), z[..., None]], -1)

    def render(self, src: torch.Tensor, xy_norm: torch.Tensor, dst: torch.Tensor, codes: torch.Tensor,
               stratified: bool) -> RayBatch:
        """Rays at xy_norm [N, 2] of frames src [N] -> their composited correspondence in frames dst [N]."""
        points = self.lift(xy_norm, stratified)
        canonical = self.bijection(points, src, codes)
        sigma, rgb = self.canonical(contract(canonical))
        weights = blending_weights(sigma)
        mapped = self.bijection.inverse(canonical, dst, codes)
        return RayBatch(weights, points[..., 2], canonical, mapped, composite(weights, rgb), composite(weights, mapped))

    @torch.no_grad()
    def max_weight_canonical(self, src: torch.Tensor, xy_norm: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Canonical point [N, 3] of the most visible sample on each ray (published inference rule)."""
        points = self.lift(xy_norm, stratified=False)
        canonical = self.bijection(points, src, codes)
        sigma, _ = self.canonical(contract(canonical))
        best = blending_weights(sigma).argmax(-1)
        return canonical[torch.arange(len(best), device=best.device), best]

    @torch.no_grad()
    def opacity_in_front(self, frames: torch.Tensor, points: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Opacity [N] accumulated on the ray through points[:, :2] of `frames` before depth points[:, 2] - eps."""
        near, far = self.config.render.depth_range
        samples = self.config.render.samples
        eps = self.config.inference.occlusion_eps_bins * (far - near) / samples
        ray = self.lift(points[:, :2], stratified=False)
        sigma, _ = self.canonical(contract(self.bijection(ray, frames, codes)))
        weights = blending_weights(sigma)
        in_front = ray[..., 2] < (points[:, 2:3] - eps)
        return (weights * in_front).sum(-1)
