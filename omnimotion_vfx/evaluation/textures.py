"""Procedural textures for synthetic plates: rich at every scale so that flow has something to lock on to.

Band-pass noise at several scales (like natural images) plus hard-edged shapes (corners and edges, like man-made
surfaces), then a light blur so the texture is band-limited: bilinear resampling of a band-limited texture is
close to exact, which keeps the rendered pixels consistent with the analytic ground truth.
"""

from __future__ import annotations

import cv2
import numpy as np


def make_texture(rng: np.random.Generator, width: int, height: int, n_shapes: int | None = None) -> np.ndarray:
    """float32 [height, width, 3] in [0, 1] with its own random palette."""
    out = np.zeros((height, width, 3), np.float32)
    for sigma, weight in ((1.5, 0.35), (4.0, 0.5), (12.0, 0.7), (32.0, 0.6)):
        noise = rng.standard_normal((height, width, 3)).astype(np.float32)
        band = cv2.GaussianBlur(noise, (0, 0), sigma, borderType=cv2.BORDER_REFLECT101)
        band /= band.std() + 1e-6
        out += weight * band
    mix = rng.normal(0.0, 0.6, (3, 3)).astype(np.float32) + np.eye(3, dtype=np.float32)
    out = out @ mix.T
    out = 0.5 + 0.12 * out / (out.std() + 1e-6) + rng.uniform(-0.15, 0.15, 3).astype(np.float32)
    _draw_shapes(rng, out, n_shapes if n_shapes is not None else max(8, width * height // 2500))
    out = cv2.GaussianBlur(out, (0, 0), 0.8, borderType=cv2.BORDER_REFLECT101)
    return np.clip(out, 0.0, 1.0)


def _draw_shapes(rng: np.random.Generator, image: np.ndarray, count: int) -> None:
    """Opaque and translucent discs, boxes and strokes: corners and edges at random sizes and colours. Each is
    drawn into a copy of its own bounding box only, so cost grows with the shapes' area, not the image's."""
    height, width = image.shape[:2]
    scale = min(width, height)
    for _ in range(count):
        colour = tuple(float(c) for c in rng.uniform(0.0, 1.0, 3))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(np.clip(rng.lognormal(np.log(scale * 0.02), 0.6), 2, min(scale * 0.08, 40)))
        kind = rng.integers(0, 3)
        if kind == 0:
            far = (cx + size, cy + size)
        elif kind == 1:
            far = (cx + int(rng.integers(-2, 3) * size), cy + int(rng.integers(1, 3) * size))
        else:
            far = (cx + int(rng.normal(0, 3 * size)), cy + int(rng.normal(0, 3 * size)))
        alpha = float(rng.uniform(0.5, 1.0))
        pad = size + 2
        x0, y0 = max(min(cx, far[0]) - pad, 0), max(min(cy, far[1]) - pad, 0)
        x1, y1 = min(max(cx, far[0]) + pad, width), min(max(cy, far[1]) + pad, height)
        if x1 <= x0 or y1 <= y0:
            continue
        roi = image[y0:y1, x0:x1]
        layer = roi.copy()
        start, end = (cx - x0, cy - y0), (far[0] - x0, far[1] - y0)
        if kind == 0:
            cv2.circle(layer, start, size, colour, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(layer, start, end, colour, -1, cv2.LINE_AA)
        else:
            cv2.line(layer, start, end, colour, max(1, size // 4), cv2.LINE_AA)
        roi[:] = alpha * layer + (1.0 - alpha) * roi
