"""The holdout matte: where the pinned surface is hidden in a frame, as a soft, anti-aliased matte.

The region's sample points carry the tracker's visibility into the frame. Each point is splatted bilinearly
(occluded weight and total weight), both are blurred with the same Gaussian (a normalised convolution), and
their ratio is the share of the surface hidden at each pixel: soft where the occluder's edge crosses the
samples, and free of holes between samples.
"""

from __future__ import annotations

import cv2
import numpy as np

from .warp import Box


def splat(xy: np.ndarray, values: np.ndarray, box: Box) -> np.ndarray:
    """Bilinear splat of per-point values [N, C] at plate positions xy [N, 2] into the box: float32 [h, w, C]."""
    height, width = box.shape
    channels = values.shape[1]
    p = np.asarray(xy, np.float64) - (box.x0 + 0.5, box.y0 + 0.5)
    x0, y0 = np.floor(p[:, 0]).astype(np.int64), np.floor(p[:, 1]).astype(np.int64)
    fx, fy = p[:, 0] - x0, p[:, 1] - y0
    out = np.zeros((height * width, channels), np.float64)
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        cx, cy = x0 + dx, y0 + dy
        ok = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        flat = cy[ok] * width + cx[ok]
        for c in range(channels):
            out[:, c] += np.bincount(flat, weights=w[ok] * values[ok, c], minlength=height * width)
    return out.reshape(height, width, channels).astype(np.float32)


def hidden_share(xy: np.ndarray, visible: np.ndarray, plate_size: tuple[int, int], spacing_px: float) -> np.ndarray:
    """Share of the surface hidden per pixel, float32 [H, W] in [0, 1] (0 where no point lands nearby).

    xy [N, 2]: where the region's points are in this frame; visible [N]; spacing_px: their spacing here.
    The graphic is multiplied by (1 - share); the holdout matte written out is share x the graphic's coverage."""
    width, height = plate_size
    out = np.zeros((height, width), np.float32)
    sigma = max(0.75, 0.6 * spacing_px)
    box = Box.around(xy, plate_size, pad=int(np.ceil(3 * sigma)) + 2)
    if len(xy) == 0 or box.empty:
        return out
    values = np.stack([np.ones(len(xy)), (~np.asarray(visible, bool)).astype(np.float64)], axis=1)
    blurred = cv2.GaussianBlur(splat(xy, values, box), (0, 0), sigma)
    total, hidden = blurred[..., 0], blurred[..., 1]
    floor = 0.05 * float(total.max())
    share = np.where(total > floor, hidden / np.maximum(total, 1e-12), 0.0)
    out[box.y0 : box.y1, box.x0 : box.x1] = np.clip(share, 0.0, 1.0)
    return out
