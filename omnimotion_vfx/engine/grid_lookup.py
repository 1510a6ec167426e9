"""Bilinear look-ups in small 2-D grids (feature planes) and in per-frame stacks of them (depth maps).

Both go through `grid_sample` (one fused kernel forward and backward; gathers written by hand cost 3x more per
step on the CPU). A per-frame stack is sampled as a volume whose third axis is the frame, at exact frame
positions, so each point reads its own frame's grid in the same single call (no per-frame loop, no masks).
Positions outside the grid read its border.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def plane_lookup(plane: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """plane [C, R, R]; uv [N, 2] in [0, 1] (u along x, the last axis) -> [N, C]."""
    grid = (uv * 2 - 1).view(1, -1, 1, 2)
    out = F.grid_sample(plane[None], grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, :, :, 0].t()


def frame_grid_lookup(stack: torch.Tensor, frames: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """stack [C, T, R, R]; frames [N] (integer); uv [N, 2] in [0, 1] -> [N, C], each point in its frame's grid."""
    t = stack.shape[1]
    w = frames.to(uv.dtype) * (2.0 / max(t - 1, 1)) - 1 if t > 1 else torch.zeros_like(uv[:, 0])
    grid = torch.cat([uv * 2 - 1, w[:, None]], -1).view(1, -1, 1, 1, 3)
    out = F.grid_sample(stack[None], grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, :, :, 0, 0].t()
