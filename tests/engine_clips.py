"""Tiny clips with exactly known motion and their exact correspondences, for the engine tests."""

from __future__ import annotations

import cv2
import numpy as np

from omnimotion_vfx.engine import EngineConfig, preset
from omnimotion_vfx.flow.correspondences import Correspondences, PairFlow

SHIFT = np.array([1.0, 0.5])  # pixels per frame (x, y)


def translating_clip(frames: int = 8, size: int = 32, seed: int = 0) -> np.ndarray:
    """uint8 [T, size, size, 3]: a smooth random texture sliding by SHIFT per frame (sub-pixel, bilinear)."""
    rng = np.random.default_rng(seed)
    big = size + 2 * frames + 8
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (big, big, 3)).astype(np.float32), (0, 0), 1.5)
    out = []
    for t in range(frames):
        m = np.float32([[1, 0, 4 + SHIFT[0] * t], [0, 1, 4 + SHIFT[1] * t]])
        out.append(cv2.warpAffine(texture, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
    return np.clip(np.stack(out) * 1.6 - 80, 0, 255).astype(np.uint8)


def exact_correspondences(frames: int, size: int, max_gap: int = 3) -> Correspondences:
    """Every pair up to max_gap: content at p in frame i is at p - SHIFT * (j - i) in frame j."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    pairs = {}
    for i in range(frames):
        for j in range(max(0, i - max_gap), min(frames, i + max_gap + 1)):
            if i == j:
                continue
            offset = -SHIFT * (j - i)
            flow = np.broadcast_to(offset, (size, size, 2)).astype(np.float16).copy()
            tx, ty = xs + offset[0], ys + offset[1]
            valid = (tx >= 0) & (tx <= size) & (ty >= 0) & (ty <= size)
            pairs[(i, j)] = PairFlow(i, j, flow, valid)
    return Correspondences(frames, (size, size), pairs, params={"exact": "translation"})


def tiny_config(steps: int = 60) -> EngineConfig:
    """The `test` preset on the CPU with a given step count."""
    config = preset("test").with_overrides({"trainer.steps": steps, "device": "cpu"})
    return config
