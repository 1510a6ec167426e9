"""Bilinear look-ups in small 2-D grids (feature planes) and in per-frame stacks of them (depth maps).

Both go through `grid_sample` (one fused kernel forward and backward; gathers written by hand cost 3x more per
step on the CPU). A per-frame stack is sampled as a volume whose third axis is the frame, at exact frame
positions, so each point reads its own frame's grid in the same single call (no per-frame loop, no masks).
Positions outside the grid read its border.
Under torch's deterministic mode on CUDA (a `--deterministic` fit) the look-ups gather the four corners by hand
instead: grid_sample's CUDA backward adds with atomics and has no deterministic version (torch raises), while
an indexed gather's backward does.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def plane_lookup(plane: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """plane [C, R, R]; uv [N, 2] in [0, 1] (u along x, the last axis) -> [N, C]."""
    if _gather_by_hand(plane):
        return bilinear_gather(plane.reshape(plane.shape[0], -1), uv.new_zeros(len(uv), dtype=torch.long), plane.shape[-2:], uv)
    grid = (uv * 2 - 1).view(1, -1, 1, 2)
    out = F.grid_sample(plane[None], grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, :, :, 0].t()


def frame_grid_lookup(stack: torch.Tensor, frames: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """stack [C, T, R, R]; frames [N] (integer); uv [N, 2] in [0, 1] -> [N, C], each point in its frame's grid."""
    t = stack.shape[1]
    if _gather_by_hand(stack):
        plane_size = stack.shape[-2] * stack.shape[-1]
        return bilinear_gather(stack.reshape(stack.shape[0], -1), frames.long() * plane_size, stack.shape[-2:], uv)
    w = frames.to(uv.dtype) * (2.0 / max(t - 1, 1)) - 1 if t > 1 else torch.zeros_like(uv[:, 0])
    grid = torch.cat([uv * 2 - 1, w[:, None]], -1).view(1, -1, 1, 1, 3)
    out = F.grid_sample(stack[None], grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, :, :, 0, 0].t()


def _gather_by_hand(grid: torch.Tensor) -> bool:
    return grid.is_cuda and grid.requires_grad and torch.is_grad_enabled() and torch.are_deterministic_algorithms_enabled()


def bilinear_gather(flat: torch.Tensor, offset: torch.Tensor, size: tuple[int, int], uv: torch.Tensor) -> torch.Tensor:
    """What `grid_sample` (bilinear, border, align_corners) reads, gathered by hand: flat [C, K] holds planes of
    `size` (R_h, R_w) one after another; offset [N] is where each point's plane starts; uv [N, 2] in [0, 1]."""
    rows, cols = int(size[0]), int(size[1])
    x = (uv[:, 0] * (cols - 1)).clamp(0, cols - 1)
    y = (uv[:, 1] * (rows - 1)).clamp(0, rows - 1)
    x0, y0 = x.floor().long(), y.floor().long()
    x1, y1 = (x0 + 1).clamp(max=cols - 1), (y0 + 1).clamp(max=rows - 1)
    fx, fy = x - x0, y - y0

    def corner(yi: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        return flat[:, offset + yi * cols + xi]

    top = corner(y0, x0) * (1 - fx) + corner(y0, x1) * fx
    bottom = corner(y1, x0) * (1 - fx) + corner(y1, x1) * fx
    return (top * (1 - fy) + bottom * fy).t()
