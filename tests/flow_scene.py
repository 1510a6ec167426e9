"""A tiny synthetic clip with exact ground truth for the flow tests: a textured background translating by
`bg_step` pixels per frame and a textured square sliding across it by `fg_step` (occluding the background)."""

from __future__ import annotations

import cv2
import numpy as np


def texture(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.random((height, width, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 1.5)
    return cv2.normalize(smooth, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def sliding_square_clip(
    frames: int = 6, size: int = 96, bg_step: tuple[int, int] = (2, 1), fg_step: tuple[int, int] = (5, 0),
    square: int = 28, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(video uint8 [T, H, W, 3], square mask bool [T, H, W]); integer steps keep the GT exact. The square
    must not leave through the left or top edge (steps are non-negative in practice)."""
    pad = frames * 8 + 8
    bg = texture(size + 2 * pad, size + 2 * pad, seed)
    fg = texture(square, square, seed + 1)
    video = np.empty((frames, size, size, 3), np.uint8)
    masks = np.zeros((frames, size, size), bool)
    for t in range(frames):
        ox, oy = pad - bg_step[0] * t, pad - bg_step[1] * t  # content moves by +bg_step per frame
        video[t] = bg[oy:oy + size, ox:ox + size]
        x0, y0 = 10 + fg_step[0] * t, size // 2 - square // 2 + fg_step[1] * t
        x1, y1 = min(x0 + square, size), min(y0 + square, size)  # the square may leave the frame
        video[t, y0:y1, x0:x1] = fg[: y1 - y0, : x1 - x0]
        masks[t, y0:y1, x0:x1] = True
    return video, masks


def gt_flow(i: int, j: int, shape: tuple[int, int], bg_step: tuple[int, int], fg_step: tuple[int, int], masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(flow [H, W, 2] i -> j, visible-in-j bool [H, W]) for sliding_square_clip."""
    h, w = shape
    flow = np.empty((h, w, 2), np.float32)
    fg = masks[i]
    flow[~fg] = np.multiply(bg_step, j - i)
    flow[fg] = np.multiply(fg_step, j - i)
    gy, gx = np.mgrid[0:h, 0:w]
    tx = np.rint(gx + flow[..., 0]).astype(int)
    ty = np.rint(gy + flow[..., 1]).astype(int)
    inside = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
    visible = inside.copy()
    # a background pixel is visible in j only where the square does not cover its target
    visible[inside] &= fg[inside] | ~masks[j][ty[inside], tx[inside]]
    return flow, visible
