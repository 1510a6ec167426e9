"""`mesh` mode: a grid over the graphic whose vertices follow the surface, so a bending surface bends it.

Each vertex moves with the frame's homography plus a local residual: a Gaussian-weighted local linear fit
to the residuals of the visible region points around it. Many points per vertex, so one bad track cannot
pull a vertex; linear, so vertices on the region's border or beside an occluder, which see points on one side
only, extrapolate the local bend instead of flattening it. A vertex with no visible point within its
neighbourhood (under a hand, or outside the tracked region) is fitted again over 2, 4 and 8 times wider
neighbourhoods, and keeps the homography alone if even that sees nothing.
"""

from __future__ import annotations

import numpy as np

from .motion import FrameFit, RegionTracks, apply_homography

MIN_WEIGHT = 0.05  # total Gaussian weight of visible points a fit needs (about one point within a sigma)
WIDER = (2.0, 4.0, 8.0)


def vertex_grid(graphic_size: tuple[int, int], cells: int) -> np.ndarray:
    """Vertex positions in graphic pixels, float64 [cells_y + 1, cells_x + 1, 2]; cells follow the aspect."""
    gw, gh = graphic_size
    nx = max(1, int(round(cells * min(1.0, gw / gh))))
    ny = max(1, int(round(cells * min(1.0, gh / gw))))
    u, v = np.meshgrid(np.linspace(0, gw, nx + 1), np.linspace(0, gh, ny + 1))
    return np.stack([u, v], axis=-1)




class MeshFollower:
    """Per-frame vertex positions in plate pixels for a grid placed at the reference frame."""

    def __init__(self, ref_vertices: np.ndarray, tracks: RegionTracks, outlier_px: float = 4.0) -> None:
        self.ref_vertices = ref_vertices  # float64 [ny+1, nx+1, 2] plate pixels at the reference frame
        self.tracks = tracks
        self.outlier_px = outlier_px
        flat = ref_vertices.reshape(-1, 2)
        spacing = max(np.linalg.norm(ref_vertices[0, 1] - ref_vertices[0, 0]), np.linalg.norm(ref_vertices[1, 0] - ref_vertices[0, 0]), 1.0)
        self.sigma = float(spacing)
        offsets = (tracks.ref_xy[None, :, :] - flat[:, None, :]) / self.sigma  # [V, N, 2] in sigmas
        self.d2 = (offsets**2).sum(-1).astype(np.float32)  # [V, N]
        self.basis = np.concatenate([np.ones(self.d2.shape + (1,), np.float32), offsets.astype(np.float32)], axis=-1)  # [V, N, 3]

    def vertices(self, index: int, fit: FrameFit) -> np.ndarray:
        """Vertex positions [ny+1, nx+1, 2] in plate pixels at the clip frame `index`."""
        shape = self.ref_vertices.shape
        base = apply_homography(fit.homography, self.ref_vertices.reshape(-1, 2))
        predicted = apply_homography(fit.homography, self.tracks.ref_xy)
        residual = self.tracks.xy[:, index].astype(np.float64) - predicted
        size = np.linalg.norm(residual, axis=1)
        visible = self.tracks.visible[:, index]
        limit = 5.0 * float(np.median(size[visible])) + self.outlier_px if visible.any() else 0.0
        use = (visible & (size <= limit)).astype(np.float32)
        vertex_residual = np.zeros((len(base), 2))
        pending = np.arange(len(base))
        for scale in (1.0,) + WIDER:
            if len(pending) == 0:
                break
            d2 = self.d2[pending]
            weights = np.where(d2 <= 9.0 * scale**2, np.exp(-0.5 * d2 / scale**2), 0.0).astype(np.float32) * use[None, :]
            solved = weights.sum(axis=1) >= MIN_WEIGHT
            if solved.any():
                vertex_residual[pending[solved]] = _local_linear(self.basis[pending[solved]], weights[solved], residual)
            pending = pending[~solved]
        return (base + vertex_residual).reshape(shape)


def _local_linear(basis: np.ndarray, weights: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """Intercepts [V, 2] of per-vertex weighted linear fits residual ~ a + B (x - vertex) / sigma; a ridge on B
    keeps vertices that see points along a line only at their weighted mean."""
    weighted_basis = basis * weights[..., None]  # [V, N, 3]
    normal = np.einsum("vni,vnj->vij", weighted_basis, basis).astype(np.float64)  # [V, 3, 3]
    rhs = np.einsum("vni,nc->vic", weighted_basis, residual.astype(np.float32)).astype(np.float64)  # [V, 3, 2]
    ridge = 0.05 * weights.sum(axis=1).astype(np.float64)
    normal = normal + ridge[:, None, None] * np.diag([1e-3, 1.0, 1.0])[None]
    return np.linalg.solve(normal, rhs)[:, 0, :]
