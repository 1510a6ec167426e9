"""The flow links of one clip as one stack on the fusion's device, read many links and points at once.

The fusion reads hundreds of pairs' flows per solve, at a different point per pair and query: one gather over
the whole stack instead of one call per pair. The flows stay in their own dtype (float16 from the flow stage):
a float32 copy would double the flow memory for no precision. On the CPU the tensors are views of one host
stack that the pairs are re-pointed at, so every flow and mask is held once; on a GPU the stack is copied to
the device once.
"""

from __future__ import annotations

import numpy as np
import torch

from ..flow.correspondences import PairFlow


class FlowStack:
    """`links_at(ks, pos)`: pairs' flows, valid masks and cycle errors at positions in their first frames."""

    def __init__(self, pairs: list[PairFlow], size: tuple[int, int], device: torch.device) -> None:
        w, h = size
        self.size = size
        self.device = device
        dtype = np.result_type(*(pair.flow.dtype for pair in pairs)) if pairs else np.float16
        self.flows = np.empty((len(pairs), h, w, 2), dtype)
        self.valid = np.empty((len(pairs), h, w), bool)
        for k, pair in enumerate(pairs):
            self.flows[k], self.valid[k] = pair.flow, pair.valid
            pair.flow, pair.valid = self.flows[k], self.valid[k]
        flows = torch.from_numpy(self.flows).to(device)
        # A two-channel float16 flow is gathered as one 32-bit word per pixel: half the gathers.
        words = flows.dtype == torch.float16 and flows.numel() > 0
        self._pixels = flows.view(torch.int32).reshape(-1) if words else flows.reshape(-1, 2)
        self._valid = torch.from_numpy(self.valid).to(device).reshape(-1)
        index = {(p.i, p.j): k for k, p in enumerate(pairs)}
        back = [index.get((p.j, p.i), -1) for p in pairs]  # -1: the schedule has no reverse pair
        self.back = torch.tensor(back, dtype=torch.int64, device=device)
        self.has_back = any(k >= 0 for k in back)
        self._last = torch.tensor([w - 1, h - 1], dtype=torch.float32, device=device)  # the last pixel centre's corner

    def sample(self, ks: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Flows of pairs ks (broadcastable to pos [..., 2]) at positions pos (pixel centres at +0.5, border
        clamped) -> float64 [..., 2]. Positions are rounded to float32 (the flows are float16: finer adds
        nothing); the interpolation runs in float64, the solves' dtype. The four corners are read in one gather."""
        w, h = self.size
        xy = torch.minimum((pos.float() - 0.5).clamp(min=0), self._last)
        corner = xy.long()  # floor: xy >= 0
        fx, fy = (xy.double() - corner).unbind(-1)
        x0, y0 = corner.unbind(-1)
        right, down = (x0 < w - 1).long(), (y0 < h - 1).long() * w
        at = (ks * (h * w) + y0 * w + x0).unsqueeze(-1) + torch.stack([torch.zeros_like(right), right, down, right + down], -1)
        value = self._at(at)  # [..., 4, 2]: top left, top right, bottom left, bottom right
        top = value[..., 0, :] * (1 - fx)[..., None] + value[..., 1, :] * fx[..., None]
        bottom = value[..., 2, :] * (1 - fx)[..., None] + value[..., 3, :] * fx[..., None]
        return top * (1 - fy)[..., None] + bottom * fy[..., None]

    def links_at(self, ks: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pairs ks (>= 0, broadcastable to pos [..., 2]) at positions pos of their first frames: (flow [..., 2]
        float64, valid [...] (the pair's mask, inside the image), cycle error [...] px, 0 where the schedule has
        no reverse pair)."""
        w, h = self.size
        flow = self.sample(ks, pos)
        col = pos[..., 0].long().clamp(0, w - 1)
        row = pos[..., 1].long().clamp(0, h - 1)
        inside = (pos[..., 0] >= 0) & (pos[..., 0] <= w) & (pos[..., 1] >= 0) & (pos[..., 1] <= h)
        valid = torch.take(self._valid, ks * (h * w) + row * w + col) & inside
        if not self.has_back:
            return flow, valid, torch.zeros_like(flow[..., 0])
        back = self.back[ks]
        there = self.sample(back.clamp(min=0), pos + flow)
        cycle = torch.where(back >= 0, torch.linalg.vector_norm(flow + there, dim=-1), 0.0)
        return flow, valid, cycle

    def _at(self, index: torch.Tensor) -> torch.Tensor:
        """Flattened pixel indices [...] -> float64 [..., 2]."""
        if self._pixels.dim() == 1:
            return torch.take(self._pixels, index).unsqueeze(-1).view(torch.float16).double()
        return self._pixels[index].double()
