"""Warp the graphic onto the plate with filtered edges: inverse maps sampled by OpenCV.

Both modes build an inverse map (plate pixel centre -> graphic position) over the graphic's bounding box;
`cv2.remap` samples the premultiplied graphic there with its border pixels replicated, and the result is
multiplied by the exact coverage of the graphic's outline (the quad, or the mesh's border polygon), which
OpenCV fills at 4x resolution and box-filters down: anti-aliased edges at the cost of a uint8 fill, not of a
supersampled warp. A graphic larger than its footprint is first reduced with INTER_AREA, so bilinear
sampling does not alias it (a one-level mip). Coordinates: internal convention, pixel centres at +0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

OUTSIDE = -1.0e6  # an inverse-map value that samples nothing
COVERAGE_SUPERSAMPLE = 4


@dataclass(frozen=True)
class Box:
    """A pixel rectangle of the plate [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    @classmethod
    def around(cls, points: np.ndarray, plate_size: tuple[int, int], pad: int = 2) -> "Box":
        width, height = plate_size
        finite = np.asarray(points, np.float64).reshape(-1, 2)
        finite = finite[np.isfinite(finite).all(axis=1)]
        if len(finite) == 0:
            return cls(0, 0, 0, 0)
        lo = np.floor(finite.min(axis=0)) - pad
        hi = np.ceil(finite.max(axis=0)) + pad
        return cls(int(max(0, lo[0])), int(max(0, lo[1])), int(min(width, hi[0])), int(min(height, hi[1])))

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Plate coordinates of the box's pixel centres: x float32 [1, w] and y float32 [h, 1] (broadcastable)."""
        x = (np.arange(self.x0, self.x1, dtype=np.float32) + 0.5)[None, :]
        y = (np.arange(self.y0, self.y1, dtype=np.float32) + 0.5)[:, None]
        return x, y


def planar_inverse_map(graphic_to_plate: np.ndarray, box: Box) -> np.ndarray:
    """Graphic positions float32 [h, w, 2] of the box's pixel centres through the inverse homography;
    points beyond the horizon (the wrong sign of projective depth) get OUTSIDE."""
    x, y = box.centres()
    inv = np.linalg.inv(graphic_to_plate).astype(np.float32)
    depth = inv[2, 0] * x + inv[2, 1] * y + inv[2, 2]
    front_sign = np.float32(np.sign(graphic_to_plate[2, 2]) or 1.0)
    front = depth * front_sign > 1e-12
    depth = np.where(front, depth, np.float32(1.0))
    out = np.empty(box.shape + (2,), np.float32)
    out[..., 0] = np.where(front, (inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]) / depth, OUTSIDE)
    out[..., 1] = np.where(front, (inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]) / depth, OUTSIDE)
    return out


def mesh_inverse_map(vertices: np.ndarray, grid_uv: np.ndarray, box: Box, grow: int = 2) -> np.ndarray:
    """Graphic positions float32 [h, w, 2] of the box's pixel centres through a triangle mesh.

    vertices [ny+1, nx+1, 2] plate pixels and grid_uv (same shape) graphic pixels. Each pixel takes the affine
    map of the triangle OpenCV rasterises it into; a pixel that no triangle's fill claims (along the outline,
    or on an edge between triangles) takes a neighbouring triangle's map, up to `grow` pixels out, so edge
    pixels extrapolate instead of jumping to nothing (the outline itself is cut by the coverage)."""
    tri_xy, tri_uv = _triangles(vertices), _triangles(grid_uv)
    shift = 4
    pts = np.round((tri_xy - (box.x0 + 0.5, box.y0 + 0.5)) * (1 << shift)).astype(np.int32)  # OpenCV: centres at integers
    ids = np.zeros(box.shape, np.int32)
    for index, tri in enumerate(pts):
        cv2.fillConvexPoly(ids, tri, index + 1, lineType=cv2.LINE_8, shift=shift)
    kernel = np.ones((2 * max(1, grow) + 1,) * 2, np.uint8)
    ids = np.where(ids > 0, ids, cv2.dilate(ids.astype(np.float32), kernel).astype(np.int32))
    affine = _affines(tri_xy, tri_uv).astype(np.float32)  # [K+1, 3, 2]; row 0 maps to OUTSIDE
    x, y = box.centres()
    out = np.empty(box.shape + (2,), np.float32)
    for c in range(2):
        out[..., c] = x * affine[ids, 0, c] + y * affine[ids, 1, c] + affine[ids, 2, c]
    return out


def polygon_coverage(polygon: np.ndarray, plate_size: tuple[int, int], supersample: int = COVERAGE_SUPERSAMPLE) -> np.ndarray:
    """Share of each plate pixel inside a polygon [K, 2], float32 [H, W]: filled at `supersample` x resolution
    over its bounding box, then box-filtered (OpenCV's LINE_AA fill bleeds about half a pixel outwards)."""
    width, height = plate_size
    out = np.zeros((height, width), np.float32)
    box = Box.around(polygon, plate_size, pad=1)
    if box.empty:
        return out
    h, w = box.shape
    canvas = np.zeros((h * supersample, w * supersample), np.uint8)
    shift = 4
    pts = np.round(((np.asarray(polygon, np.float64) - (box.x0, box.y0)) * supersample - 0.5) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 255, lineType=cv2.LINE_8, shift=shift)
    out[box.y0 : box.y1, box.x0 : box.x1] = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return out


def render(graphic: np.ndarray, inverse_map: np.ndarray, box: Box, coverage: np.ndarray, footprint_px: float) -> np.ndarray:
    """Premultiplied RGBA float32 [H, W, C] (plate size, as `coverage`): the graphic sampled through
    `inverse_map` over `box`, times the outline's coverage. `footprint_px`: the outline's area on the plate."""
    out = np.zeros(coverage.shape + (graphic.shape[2],), np.float32)
    if box.empty:
        return out
    source, uv = _prefilter(graphic, inverse_map, footprint_px)
    sampled = cv2.remap(source, uv[..., 0] - 0.5, uv[..., 1] - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out[box.y0 : box.y1, box.x0 : box.x1] = sampled.reshape(box.shape + (graphic.shape[2],))
    out *= coverage[..., None]
    return out


def _prefilter(graphic: np.ndarray, inverse_map: np.ndarray, footprint_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Shrink a graphic larger than its footprint on the plate (INTER_AREA), and rescale the map to match."""
    gh, gw = graphic.shape[:2]
    factor = np.sqrt(max(footprint_px, 1.0) / (gw * gh))
    if factor >= 1.0:
        return graphic, inverse_map
    size = (max(2, int(round(gw * factor))), max(2, int(round(gh * factor))))
    small = cv2.resize(graphic, size, interpolation=cv2.INTER_AREA)
    return small, inverse_map * np.array([size[0] / gw, size[1] / gh], np.float32)


def _triangles(grid: np.ndarray) -> np.ndarray:
    """Two triangles per grid cell: float64 [2 * cells, 3, 2]."""
    a, b = grid[:-1, :-1], grid[:-1, 1:]
    c, d = grid[1:, 1:], grid[1:, :-1]
    first = np.stack([a, b, c], axis=2).reshape(-1, 3, 2)
    second = np.stack([a, c, d], axis=2).reshape(-1, 3, 2)
    return np.concatenate([first, second]).astype(np.float64)


def _affines(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Per-triangle affine maps src -> dst as [K+1, 3, 2] ([x, y, 1] @ A); row 0 and folded triangles -> OUTSIDE."""
    ones = np.ones(src.shape[:2] + (1,))
    system = np.concatenate([src, ones], axis=-1)  # [K, 3, 3]
    ok = np.abs(np.linalg.det(system)) > 1e-9
    affine = np.zeros((len(src) + 1, 3, 2))
    affine[0, 2] = OUTSIDE
    solved = np.zeros((len(src), 3, 2))
    solved[ok] = np.linalg.solve(system[ok], dst[ok])
    solved[~ok, 2] = OUTSIDE
    affine[1:] = solved
    return affine


def mesh_outline(vertices: np.ndarray) -> np.ndarray:
    """The border of a vertex grid [ny+1, nx+1, 2] as one polygon, clockwise from the top-left vertex."""
    top, right = vertices[0, :-1], vertices[:-1, -1]
    bottom, left = vertices[-1, :0:-1], vertices[:0:-1, 0]
    return np.concatenate([top, right, bottom, left])
