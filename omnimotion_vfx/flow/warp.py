"""Sampling fields at flow-displaced positions with cv2.remap (C++, releases the GIL) instead of numpy gathers.

Flow convention: flow[y, x] is the offset from the centre of pixel (x, y) to its match; the pixel grid used by
remap counts whole pixels, so the +0.5 centre offset cancels.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


@lru_cache(maxsize=4)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """float32 [H, W, 2] (x, y) of every pixel: a two-channel remap map once a flow is added."""
    grid = np.dstack(np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)))
    grid.setflags(write=False)
    return grid


def targets(flow: np.ndarray) -> np.ndarray:
    """float32 [H, W, 2]: each pixel's flow target on the whole-pixel grid (a cv2.remap map)."""
    return pixel_grid(*flow.shape[:2]) + flow.astype(np.float32, copy=False)


def sample_map(field: np.ndarray, where: np.ndarray) -> np.ndarray:
    """field [H, W] or [H, W, C] (float32) sampled bilinearly at a remap map (see `targets`), border replicated."""
    return cv2.remap(field, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def inside_map(where: np.ndarray) -> np.ndarray:
    """bool [H, W]: a remap map's positions lie in the image [0, W] x [0, H] (pixel centres at +0.5)."""
    h, w = where.shape[:2]
    return cv2.inRange(where, (-0.5, -0.5), (w - 0.5, h - 0.5)) > 0


def sample_at(field: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """field sampled at each pixel's flow target."""
    return sample_map(field, targets(flow))


def lands_inside(flow: np.ndarray) -> np.ndarray:
    """bool [H, W]: the flow target of each pixel centre lies in the image."""
    return inside_map(targets(flow))


def sample_points(field: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Sample field [H, W, C] at continuous positions xy [N, 2] (pixel centres at +0.5), border clamped."""
    return sample_points_of(field[None], np.zeros(1, np.int64), xy[None])[0]


def sample_points_of(fields: np.ndarray, which: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Sample several fields at once: fields [P, H, W, C], which [B] (indices into P), xy [B, N, 2] ->
    float32 [B, N, C]. The flow fusion reads hundreds of pairs' flows per solve: one call instead of one per
    pair. A two-channel float16 flow is gathered as one 32-bit word per pixel (half the gathers), and the
    interpolation runs in float32 (flows are float16: float64 would add nothing but time)."""
    _, h, w, c = fields.shape
    x = np.clip(np.asarray(xy[..., 0], np.float32) - 0.5, 0, w - 1)
    y = np.clip(np.asarray(xy[..., 1], np.float32) - 0.5, 0, h - 1)
    x0 = x.astype(np.int64)  # floor: x >= 0
    y0 = y.astype(np.int64)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    base = np.asarray(which, np.int64)[:, None] * (h * w)
    at = _pixel_reader(fields)
    top = at(base + y0 * w + x0) * (1 - fx) + at(base + y0 * w + x1) * fx
    bottom = at(base + y1 * w + x0) * (1 - fx) + at(base + y1 * w + x1) * fx
    return top * (1 - fy) + bottom * fy


def _pixel_reader(fields: np.ndarray):
    """index [...] into the flattened pixels -> float32 [..., C]."""
    c = fields.shape[-1]
    if fields.dtype == np.float16 and c == 2 and fields.flags.c_contiguous:
        words = fields.reshape(-1).view(np.uint32)
        return lambda index: words[index].view(np.float16).reshape(index.shape + (2,)).astype(np.float32)
    flat = fields.reshape(-1, c)
    return lambda index: flat[index].astype(np.float32, copy=False)
