"""Weight-free dense flow in torch: coarse-to-fine TV-L1, batched over frame pairs, on the run's device.

DIS is the CPU default because OpenCV runs it fast on a few cores; on a GPU host the correspondences should
not wait for the CPU. TV-L1 (Zach, Pock and Bischof 2007, in the form of Sanchez, Meinhardt-Llopis and
Facciolo, IPOL 2013) was picked over a patch Lucas-Kanade because every step of it is an element-wise or
stencil operation on whole frames: it batches over pairs and maps onto a GPU with no custom kernels, and its
total-variation term keeps motion boundaries sharp where a quadratic smoother would blur them. Two steps of
Wedel et al. 2009 make it hold on rendered footage: matching texture rather than raw grey (shading changes
live in the smooth part) and a 3x3 median of the flow after each warp (outliers of the linearised data term).
Everything is float32: half precision loses the sub-pixel part of large flows.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError

COARSEST_PX = 16  # auto levels: the pyramid stops before the shorter side drops below this
WARM_LEVELS = 1  # levels a warm-started flow is refined over (full resolution only: measured best of 1, 2, all)
_TAU = 0.25  # dual step; stable for tau / theta <= 1/8 in 2-D (IPOL's value)
_EPS_GRAD = 1e-10  # squared image gradient below which the data term gives no direction


@dataclass(frozen=True)
class TvL1Settings:
    """The solver's knobs (FlowConfig.torch_*): lambda weighs the data term against smoothness on 0-255 grey."""

    levels: int = 0  # pyramid levels, halving each time; 0: down to about COARSEST_PX on the shorter side
    warps: int = 5  # re-linearisations of the data term per level
    iterations: int = 30  # primal-dual iterations per warp
    lam: float = 0.15
    theta: float = 0.3
    texture: float = 0.9  # share of the smooth (sigma 4 px) structure removed from both frames before matching

    def level_count(self, height: int, width: int) -> int:
        if self.levels:
            return self.levels
        return max(1, int(math.floor(math.log2(max(1, min(height, width)) / COARSEST_PX))) + 1)


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when torch sees one, else the CPU; asking for CUDA without one is an input error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name not in ("cpu", "cuda"):
        raise InputError(f"unknown flow device {name!r}; choose cpu, cuda or auto")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("the torch flow backend was asked to run on CUDA, but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


def _blur(images: torch.Tensor) -> torch.Tensor:
    """Gaussian (sigma 1) on [B, 1, H, W] before halving: the anti-aliasing IPOL's pyramid uses (sigma ~1.04)."""
    taps = torch.tensor([0.0545, 0.2442, 0.4026, 0.2442, 0.0545], dtype=images.dtype, device=images.device)
    padded = F.pad(images, (2, 2, 2, 2), mode="replicate")
    padded = F.conv2d(padded, taps.view(1, 1, 1, 5))
    return F.conv2d(padded, taps.view(1, 1, 5, 1))


def _remove_structure(images: torch.Tensor, weight: float) -> torch.Tensor:
    """[B, 1, H, W] minus `weight` times its Gaussian-smoothed (sigma 4) self: shading that changes between the
    frames lives mostly in the smooth part, texture in the rest (Wedel et al. 2009, with a Gaussian for their
    ROF). Brightness constancy holds better on what is left: on the rendered suite +10 AJ on fast-movers and
    +0.4 AJ over all 256x256 clips, though 0.6-2.8 AJ less on five of them (docs/flow.md)."""
    radius = 12
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    taps = torch.exp(-0.5 * (x / 4.0) ** 2)
    taps = taps / taps.sum()
    smooth = F.pad(images, (radius, radius, radius, radius), mode="replicate")
    smooth = F.conv2d(F.conv2d(smooth, taps.view(1, 1, 1, -1)), taps.view(1, 1, -1, 1))
    return images - weight * smooth


def _resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Flow [B, 2, h, w] resampled to `size` (H, W), with its vectors scaled by the same ratio per axis."""
    h, w = flow.shape[-2:]
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=True)
    scale = torch.tensor([(size[1] - 1) / max(1, w - 1), (size[0] - 1) / max(1, h - 1)], dtype=flow.dtype, device=flow.device)
    return out * scale.view(1, 2, 1, 1)


def _gradient_centered(images: torch.Tensor) -> torch.Tensor:
    """Central differences of [B, 1, H, W] -> [B, 2, H, W] (x, y), one-sided at the border."""
    padded = F.pad(images, (1, 1, 1, 1), mode="replicate")
    gx = (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2]) * 0.5
    gy = (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1]) * 0.5
    return torch.cat([gx, gy], 1)


def _forward_gradient(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences of [B, 2, H, W], zero on the last column / row (the TV term's discrete gradient)."""
    gx = F.pad(u[..., :, 1:] - u[..., :, :-1], (0, 1))
    gy = F.pad(u[..., 1:, :] - u[..., :-1, :], (0, 0, 0, 1))
    return gx, gy


def _divergence(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """The negative adjoint of `_forward_gradient` (the dual field's last column / row is kept at zero)."""
    px = F.pad(px[..., :, :-1], (0, 1))
    py = F.pad(py[..., :-1, :], (0, 0, 0, 1))
    return px - F.pad(px[..., :, :-1], (1, 0)) + py - F.pad(py[..., :-1, :], (0, 0, 1, 0))


def _median3(flow: torch.Tensor) -> torch.Tensor:
    b, c, h, w = flow.shape
    patches = F.unfold(F.pad(flow, (1, 1, 1, 1), mode="replicate"), 3)
    return patches.view(b, c, 9, h, w).median(dim=2).values


def _warp(images: torch.Tensor, flow: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """Channels [B, C, H, W] sampled at pixel + flow (bilinear, border values outside the frame)."""
    h, w = images.shape[-2:]
    coords = base + flow
    grid = torch.stack([coords[:, 0] * (2.0 / max(1, w - 1)) - 1.0, coords[:, 1] * (2.0 / max(1, h - 1)) - 1.0], -1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _pixel_grid(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, dtype=like.dtype, device=like.device),
                            torch.arange(w, dtype=like.dtype, device=like.device), indexing="ij")
    return torch.stack([xs, ys])[None]


def _solve_level(image0: torch.Tensor, image1: torch.Tensor, u: torch.Tensor, p: torch.Tensor,
                 settings: TvL1Settings) -> tuple[torch.Tensor, torch.Tensor]:
    """TV-L1 at one pyramid level from flow u [B, 2, H, W] and dual p [B, 4, H, W] (px of u1, u2; py of u1, u2)."""
    h, w = image0.shape[-2:]
    base = _pixel_grid(h, w, image0)
    image1_and_gradient = torch.cat([image1, _gradient_centered(image1)], 1)
    l_t = settings.lam * settings.theta
    taut = _TAU / settings.theta
    px, py = p[:, :2], p[:, 2:]
    for _ in range(settings.warps):
        warped = _warp(image1_and_gradient, u, base)
        grad = warped[:, 1:]
        grad_sq = (grad * grad).sum(1, keepdim=True).clamp_min(_EPS_GRAD)
        rho_c = warped[:, :1] - (grad * u).sum(1, keepdim=True) - image0
        for _ in range(settings.iterations):
            rho = rho_c + (grad * u).sum(1, keepdim=True)
            v = u + (-rho / grad_sq).clamp(-l_t, l_t) * grad
            u = v + settings.theta * _divergence(px, py)
            gx, gy = _forward_gradient(u)
            norm = 1.0 + taut * torch.sqrt(gx * gx + gy * gy)
            px = (px + taut * gx) / norm
            py = (py + taut * gy) / norm
        u = _median3(u)
    return u, torch.cat([px, py], 1)


def tvl1_flow(image0: torch.Tensor, image1: torch.Tensor, init: torch.Tensor | None = None,
              settings: TvL1Settings = TvL1Settings()) -> torch.Tensor:
    """Dense flow image0 -> image1 for a batch of grey images [B, H, W] on 0-255, as [B, 2, H, W] (x, y) offsets
    from each pixel centre of image0 to its match in image1. `init` [B, 2, H, W] (a warm start, e.g. a chained
    flow) replaces the zero flow, and only the finest WARM_LEVELS levels refine it: started at the coarsest
    level, the coarse levels pulled long-gap flows away from a good chain."""
    height, width = image0.shape[-2:]
    levels = settings.level_count(height, width)
    if init is not None:
        levels = min(levels, WARM_LEVELS)
    pyramid = [(image0[:, None].float(), image1[:, None].float())]
    if settings.texture > 0:
        pyramid = [tuple(_remove_structure(x, settings.texture) for x in pyramid[0])]
    for _ in range(levels - 1):
        a, b = pyramid[-1]
        size = ((a.shape[-2] + 1) // 2, (a.shape[-1] + 1) // 2)
        pyramid.append(tuple(F.interpolate(_blur(x), size=size, mode="bilinear", align_corners=False) for x in (a, b)))
    coarse0 = pyramid[-1][0]
    shape = (coarse0.shape[0], 2, *coarse0.shape[-2:])
    u = torch.zeros(shape, dtype=torch.float32, device=coarse0.device)
    if init is not None:
        u = _resize_flow(init.float(), coarse0.shape[-2:])
    p = torch.zeros((shape[0], 4, *shape[2:]), dtype=torch.float32, device=coarse0.device)
    for index, (a, b) in enumerate(reversed(pyramid)):
        if index:
            u = _resize_flow(u, a.shape[-2:])
            p = F.interpolate(p, size=a.shape[-2:], mode="bilinear", align_corners=True)
        u, p = _solve_level(a, b, u, p, settings)
    return u


class TorchFlowBackend:
    """`backend(i, j, init)` and `backend.many([(i, j, init), ...])` over a clip; `batch_flows` flows go through
    the solver together. Frames stay on the device as uint8 grey (a quarter of float32)."""

    def __init__(self, video: np.ndarray, settings: TvL1Settings, device: str = "cpu", batch_flows: int = 8) -> None:
        self.device = resolve_device(device)
        self.settings = settings
        self.batch_flows = batch_flows if self.device.type == "cuda" else min(2, batch_flows)  # a pair's two directions
        gray = np.stack([cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in video])
        self.gray = torch.from_numpy(gray).to(self.device)
        self._lock = threading.Lock()  # one solve at a time: torch already spreads a solve over the cores

    def __call__(self, i: int, j: int, init: np.ndarray | None = None) -> np.ndarray:
        return self.many([(i, j, init)])[0]

    def many(self, requests: list[tuple[int, int, np.ndarray | None]]) -> list[np.ndarray]:
        """Float32 [H, W, 2] flows of the requested pairs, solved `batch_flows` at a time; warm-started and cold
        requests apart, since they run over different pyramid depths."""
        flows: dict[int, np.ndarray] = {}
        for warm in (False, True):
            order = [k for k, (_, _, guess) in enumerate(requests) if (guess is not None) == warm]
            step = max(1, self.batch_flows)
            for start in range(0, len(order), step):
                chunk = order[start:start + step]
                flows.update(zip(chunk, self._solve([requests[k] for k in chunk])))
        return [flows[k] for k in range(len(requests))]

    def _solve(self, chunk: list[tuple[int, int, np.ndarray | None]]) -> list[np.ndarray]:
        index0 = torch.tensor([i for i, _, _ in chunk], device=self.device)
        index1 = torch.tensor([j for _, j, _ in chunk], device=self.device)
        init = None
        if chunk[0][2] is not None:  # `many` never mixes warm and cold requests
            init = torch.from_numpy(np.stack([np.asarray(guess, np.float32) for _, _, guess in chunk])).to(self.device).permute(0, 3, 1, 2)
        with self._lock, torch.inference_mode():
            flow = tvl1_flow(self.gray[index0].float(), self.gray[index1].float(), init, self.settings)
            out = flow.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        return list(out)
