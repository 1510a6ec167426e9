"""The layers of a synthetic plate and their analytic motion.

Every layer is a texture carried by one similarity transform per frame (layer coordinates -> image pixels), so
where any layer point is in any frame is known exactly. Objects also carry an analytic shape (ellipse, regular
polygon or smooth star) tested in their own coordinates, so "is this image point covered by object k in frame
j" is exact at any continuous position, not only at pixel centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def similarity_matrices(scale: np.ndarray, angle: np.ndarray, centre: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """[T, 3, 3] matrices taking layer points p to  centre_t + scale_t * R(angle_t) (p - origin_t)."""
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    m = np.zeros((len(scale), 3, 3))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, -sin, sin, cos
    rotated_origin = np.einsum("tij,tj->ti", m[:, :2, :2], origin)
    m[:, :2, 2] = centre - rotated_origin
    m[:, 2, 2] = 1.0
    return m


def apply(matrix: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Apply one 3x3 affine matrix to points [..., 2]."""
    return xy @ matrix[:2, :2].T + matrix[:2, 2]


def smooth_path(rng: np.random.Generator, frames: int, amplitude: float, speed: float, shake: float = 0.0) -> np.ndarray:
    """A smooth 1-D path [T] starting at 0: one slow sinusoid whose peak velocity is `speed` per frame (so long
    clips swing back and points leave and come back), plus an optional faster low-amplitude wobble."""
    t = np.arange(frames, dtype=np.float64)
    amplitude = max(amplitude, 1e-6)
    omega = speed / amplitude
    phase = rng.uniform(0, 2 * np.pi)
    path = amplitude * (np.sin(omega * t + phase) - np.sin(phase))
    if shake > 0:
        shake_phase = rng.uniform(0, 2 * np.pi)
        path += shake * (np.sin(0.45 * t + shake_phase) - np.sin(shake_phase))
    return path


@dataclass
class Shape:
    """A closed shape in object coordinates (origin at the object's centre, radius `radius` in texture pixels)."""

    kind: str  # "ellipse" | "polygon" | "star"
    radius: float
    aspect: float = 1.0  # ellipse: minor / major axis
    sides: int = 5  # polygon
    harmonics: tuple[tuple[int, float, float], ...] = ()  # star: (order, amplitude, phase)

    def contains(self, uv: np.ndarray) -> np.ndarray:
        """Exact inside test for points uv [..., 2] in object coordinates."""
        u, v = uv[..., 0], uv[..., 1]
        if self.kind == "ellipse":
            return (u / self.radius) ** 2 + (v / (self.radius * self.aspect)) ** 2 <= 1.0
        rho = np.hypot(u, v)
        theta = np.arctan2(v, u)
        if self.kind == "polygon":
            wedge = 2 * np.pi / self.sides
            local = np.mod(theta, wedge) - wedge / 2
            return rho * np.cos(local) <= self.radius * np.cos(wedge / 2)
        limit = np.ones_like(rho)
        for order, amp, phase in self.harmonics:
            limit += amp * np.cos(order * theta + phase)
        return rho <= self.radius * limit


@dataclass
class Layer:
    """A textured layer: `matrices[t]` maps layer coordinates to image pixels in frame t. The background has no
    shape (it covers everything); objects have one. Layers are listed back to front."""

    name: str
    texture: np.ndarray  # float32 [h, w, 3]; texture pixel (c, r) has its centre at layer coords (c+0.5, r+0.5) - offset
    matrices: np.ndarray  # [T, 3, 3]
    shape: Shape | None = None
    offset: np.ndarray | None = None  # layer coords of texture coordinate (0, 0); objects are centred at 0

    def to_texture(self, layer_xy: np.ndarray) -> np.ndarray:
        return layer_xy if self.offset is None else layer_xy - self.offset

    def covers(self, frame: int, image_xy: np.ndarray) -> np.ndarray:
        """Whether this layer is present at image points [..., 2] in `frame` (ignores nearer layers)."""
        if self.shape is None:
            return np.ones(image_xy.shape[:-1], bool)
        return self.shape.contains(apply(np.linalg.inv(self.matrices[frame]), image_xy))
