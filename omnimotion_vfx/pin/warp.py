"""Warp the graphic onto the plate with filtered edges: inverse maps sampled by OpenCV, supersampled.

Both modes build an inverse map (plate pixel -> graphic position) over the graphic's bounding box at
`supersample` times the plate resolution; `cv2.remap` samples the premultiplied graphic there and
`cv2.resize(INTER_AREA)` box-filters back to plate pixels, which anti-aliases the graphic's outline and the
mesh's edges alike. A graphic much larger than its footprint is first reduced with INTER_AREA, so that
bilinear sampling does not alias it (a one-level mip). Coordinates: internal convention, pixel centres at +0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

OUTSIDE = -1.0e6  # an inverse-map value that samples nothing (BORDER_CONSTANT -> transparent)


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

    def pixel_centres(self, supersample: int) -> tuple[np.ndarray, np.ndarray]:
        """Plate coordinates of the (supersampled) pixel centres of the box, each float64 [h, w]."""
        xs = self.x0 + (np.arange((self.x1 - self.x0) * supersample) + 0.5) / supersample
        ys = self.y0 + (np.arange((self.y1 - self.y0) * supersample) + 0.5) / supersample
        return np.meshgrid(xs, ys)


def planar_inverse_map(graphic_to_plate: np.ndarray, box: Box, supersample: int) -> np.ndarray:
    """Graphic positions float32 [h, w, 2] of the box's pixel centres through the inverse homography;
    points on the far side of the horizon (negative projective depth) get OUTSIDE."""
    x, y = box.pixel_centres(supersample)
    inverse = np.linalg.inv(graphic_to_plate)
    hom = np.stack([x, y, np.ones_like(x)], axis=-1) @ inverse.T
    sign = np.sign(np.linalg.inv(inverse)[2, 2]) or 1.0  # depth sign of points in front
    front = hom[..., 2] * sign > 1e-12
    w = np.where(front, hom[..., 2], 1.0)
    out = np.stack([hom[..., 0] / w, hom[..., 1] / w], axis=-1)
    out[~front] = OUTSIDE
    return out.astype(np.float32)


def mesh_inverse_map(vertices: np.ndarray, grid_uv: np.ndarray, box: Box, supersample: int, grow: int = 0) -> np.ndarray:
    """Graphic positions float32 [h, w, 2] of the box's pixel centres through a triangle mesh.

    vertices [ny+1, nx+1, 2] plate pixels and grid_uv (same shape) graphic pixels. Each pixel takes the affine
    map of the triangle OpenCV rasterises it into. A pixel that no triangle's fill claims (along the outline,
    or on an edge between triangles) takes a neighbouring triangle's map, `grow` pixels wide (more for STMaps,
    whose edge pixels must extrapolate instead of jumping to nothing); the outline stays exact because
    `render` cuts at the graphic's rectangle in graphic coordinates."""
    tri_xy, tri_uv = _triangles(vertices), _triangles(grid_uv)
    h, w = (box.y1 - box.y0) * supersample, (box.x1 - box.x0) * supersample
    # Plate -> box index space, where OpenCV puts pixel centres at integers.
    scale, offset = supersample, np.array([box.x0, box.y0]) * supersample + 0.5
    shift = 4
    pts = np.round((tri_xy * scale - offset) * (1 << shift)).astype(np.int32)
    ids = np.zeros((h, w), np.int32)
    for index, tri in enumerate(pts):
        cv2.fillConvexPoly(ids, tri, index + 1, lineType=cv2.LINE_8, shift=shift)
    grow = max(1, grow)
    kernel = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
    ids = np.where(ids > 0, ids, cv2.dilate(ids.astype(np.float32), kernel).astype(np.int32))
    affine = _affines(tri_xy, tri_uv)  # [K+1, 3, 2]; row 0 maps to OUTSIDE
    x, y = box.pixel_centres(supersample)
    coeff = affine[ids]
    u = x * coeff[..., 0, 0] + y * coeff[..., 1, 0] + coeff[..., 2, 0]
    v = x * coeff[..., 0, 1] + y * coeff[..., 1, 1] + coeff[..., 2, 1]
    return np.stack([u, v], axis=-1).astype(np.float32)


def render(graphic: np.ndarray, inverse_map: np.ndarray, box: Box, plate_size: tuple[int, int], supersample: int) -> tuple[np.ndarray, np.ndarray]:
    """The graphic sampled through `inverse_map` onto the plate: (premultiplied RGBA float32 [H, W, C],
    coverage float32 [H, W], the share of each plate pixel inside the graphic's rectangle).

    Samples replicate the graphic's border pixels and are then cut by the exact rectangle before the box
    filter, so the outline lands where the corners say (bilinear sampling against a black border would pull
    it half a graphic pixel inwards)."""
    width, height = plate_size
    out = np.zeros((height, width, graphic.shape[2]), np.float32)
    coverage = np.zeros((height, width), np.float32)
    if box.empty:
        return out, coverage
    gh, gw = graphic.shape[:2]
    u, v = inverse_map[..., 0], inverse_map[..., 1]
    inside = ((u >= 0) & (u <= gw) & (v >= 0) & (v <= gh)).astype(np.float32)
    source, uv = _prefilter(graphic, inverse_map, float(inside.sum()))
    sampled = cv2.remap(source, uv[..., 0] - 0.5, uv[..., 1] - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sampled = sampled.reshape(inside.shape + (graphic.shape[2],)) * inside[..., None]
    size = (box.x1 - box.x0, box.y1 - box.y0)
    if supersample > 1:
        sampled = cv2.resize(sampled, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        inside = cv2.resize(inside, size, interpolation=cv2.INTER_AREA)
    out[box.y0 : box.y1, box.x0 : box.x1] = sampled
    coverage[box.y0 : box.y1, box.x0 : box.x1] = inside
    return out, coverage


def _prefilter(graphic: np.ndarray, inverse_map: np.ndarray, footprint: float) -> tuple[np.ndarray, np.ndarray]:
    """Shrink a graphic that the map minifies by more than 2x (INTER_AREA), and rescale the map to match;
    `footprint`: how many (supersampled) pixels the graphic covers."""
    gh, gw = graphic.shape[:2]
    if footprint <= 0:
        return graphic, inverse_map
    factor = np.sqrt(footprint / (gw * gh))
    if factor >= 0.5:
        return graphic, inverse_map
    size = (max(2, int(round(gw * factor))), max(2, int(round(gh * factor))))
    small = cv2.resize(graphic, size, interpolation=cv2.INTER_AREA)
    ratio = np.array([size[0] / gw, size[1] / gh], np.float32)
    return small, inverse_map * ratio


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
    det = np.linalg.det(system)
    ok = np.abs(det) > 1e-9
    affine = np.zeros((len(src) + 1, 3, 2))
    affine[0, 2] = OUTSIDE
    solved = np.zeros((len(src), 3, 2))
    solved[ok] = np.linalg.solve(system[ok], dst[ok])
    solved[~ok, 2] = OUTSIDE
    affine[1:] = solved
    return affine
