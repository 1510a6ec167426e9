"""All loss terms of one step, returned as a dict of named, unweighted terms plus their scheduled weights.

Flow L1 is in processing pixels (so weights mean the same at any resolution). The schedules follow the
published ones, with the ramp lengths scaled per preset (config.LossConfig).
"""

from __future__ import annotations

import torch

from .config import LossConfig
from .model import OmniMotionModel, RayBatch
from .rendering import composite, distortion


def loss_weights(config: LossConfig, step: int) -> dict[str, float]:
    photo = min(step / max(config.photometric_ramp_steps, 1), 1.0) * config.photometric_max
    span = max(config.distortion_full - config.distortion_start, 1)
    dist = min(max(step - config.distortion_start, 0) / span, 1.0) * config.distortion_max
    flow_grad = min(step / max(config.flow_gradient_ramp_steps, 1), 1.0) * config.flow_gradient_max
    return {
        "flow": config.flow,
        "photometric": photo,
        "photometric_gradient": photo if config.photometric_gradient else 0.0,
        "flow_gradient": flow_grad,
        "acceleration": config.acceleration,
        "depth_range": config.depth_range,
        "distortion": dist,
    }


def _mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real rows of a fixed-size batch (padding rows have mask 0), without a host round trip."""
    return (values * mask).sum() / mask.sum().clamp_min(1)


def _pairwise_l1(pred: torch.Tensor, target: torch.Tensor, perm: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 between the differences of paired samples: matches local structure, not absolute values."""
    return _mean(((pred - pred[perm]) - (target - target[perm])).abs().sum(-1), mask * mask[perm])


def compute_losses(model: OmniMotionModel, codes: torch.Tensor, rays: RayBatch, src: torch.Tensor, xy_px: torch.Tensor,
                   target_px: torch.Tensor, weight: torch.Tensor, colour: torch.Tensor, config: LossConfig,
                   mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Unweighted loss terms of a rendered batch (rays from pixels xy_px of frames src, matched at target_px).
    `mask` [N] marks the real rows of a fixed-shape batch (all rows when None); every term averages over them."""
    mask = torch.ones_like(weight) if mask is None else mask
    pred_px = model.to_pixels(rays.target[:, :2])
    w, h = model.size
    inside = ((pred_px >= 0) & (pred_px <= pred_px.new_tensor([w, h]))).all(-1).float()
    err = (pred_px - target_px).abs().sum(-1) * weight * inside * mask
    count = mask.sum()
    if len(err) > 1:  # the published loss drops the single largest error (one bad match never dominates)
        err, count = err.sort().values[:-1], count - 1
    # neighbours in the batch come from the same pair, so their differences compare like with like
    perm = torch.roll(torch.arange(len(src), device=src.device), 1)
    terms = {
        "flow": err.sum() / count.clamp_min(1),
        "photometric": _mean(((rays.colour - colour) ** 2).sum(-1), mask),
        "photometric_gradient": _pairwise_l1(rays.colour, colour, perm, mask),
        "flow_gradient": _pairwise_l1(pred_px - xy_px, target_px - xy_px, perm, mask),
    }
    near, far = model.config.render.depth_range
    depth = rays.mapped[..., 2]
    terms["depth_range"] = _mean(((near - depth).clamp_min(0) ** 2 + (depth - far).clamp_min(0) ** 2).mean(-1), mask)
    terms["distortion"] = _mean(distortion(rays.weights, rays.depths, far - near), mask)
    terms["acceleration"] = _acceleration(model, codes, rays, src, config.acceleration_fraction, mask)
    return terms


def _acceleration(model: OmniMotionModel, codes: torch.Tensor, rays: RayBatch, src: torch.Tensor, fraction: float,
                  mask: torch.Tensor) -> torch.Tensor:
    """Second difference of the composited point mapped to frames i-1, i, i+1 (smooth 3-D motion)."""
    n = int(len(src) * fraction)
    if n == 0 or fraction <= 0:
        return rays.weights.new_zeros(())
    last = model.num_frames - 1
    canonical, weights = rays.canonical[:n], rays.weights[:n]
    here = composite(weights, model.bijection.inverse(canonical, src[:n], codes))
    prev = composite(weights, model.bijection.inverse(canonical, (src[:n] - 1).clamp(0, last), codes))
    nxt = composite(weights, model.bijection.inverse(canonical, (src[:n] + 1).clamp(0, last), codes))
    interior = ((src[:n] > 0) & (src[:n] < last)).float()
    return _mean((prev + nxt - 2 * here).abs().sum(-1) * interior, mask[:n])
