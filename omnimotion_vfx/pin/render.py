"""Per-frame products of a solved pin: the warped premultiplied graphic, its coverage, the holdout matte
and the STMap, in plate pixels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .mesh import MeshFollower, vertex_grid
from .matte import hidden_share
from .motion import apply_homography
from .solve import PinSolve
from .warp import OUTSIDE, Box, mesh_inverse_map, mesh_outline, planar_inverse_map, polygon_coverage, render

MODES = ("planar", "mesh")
PULL_MARGIN_PX = 2


@dataclass
class PinFrame:
    """Everything written for one frame (float32, plate size)."""

    rgba: np.ndarray  # [H, W, 4] premultiplied graphic, held out where the surface is hidden
    holdout: np.ndarray  # [H, W] share of the surface hidden (within the graphic's footprint)
    coverage: np.ndarray  # [H, W] footprint of the graphic's rectangle
    stmap: np.ndarray | None  # [H, W, 2] (u, v) normalised graphic position, bottom-left origin


class PinRenderer:
    """Renders frames of a solved pin in `planar` (one homography) or `mesh` (a grid that bends) mode."""

    def __init__(self, solve: PinSolve, mode: str = "planar", mesh_cells: int = 16, pull: bool = True) -> None:
        """`pull`: also hold out pixels the motion field pulls back off the region (see `pulled_holdout`)."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        self.solve = solve
        self.mode = mode
        self.pull = pull and hasattr(solve.motion, "map_points")
        self.grown = grown_region(solve.placement.region) if self.pull else None
        self.plate_size = solve.placement.plate_size
        gw, gh = solve.graphic_size
        self.outline = np.array([[0, 0], [gw, 0], [gw, gh], [0, gh]], np.float64)
        if mode == "mesh":
            self.grid_uv = vertex_grid(solve.graphic_size, mesh_cells)
            ref_vertices = apply_homography(solve.graphic_to_ref, self.grid_uv.reshape(-1, 2)).reshape(self.grid_uv.shape)
            self.follower = MeshFollower(ref_vertices, solve.tracks)
            self.sample_uv = apply_homography(np.linalg.inv(solve.graphic_to_ref), solve.tracks.ref_xy)

    def frame(self, frame: int, graphic: np.ndarray, with_stmap: bool = False) -> PinFrame:
        index = self.solve.frames.index(frame)
        fit = self.solve.fits[frame]
        if self.mode == "planar":
            to_plate = self.solve.graphic_to_plate(frame)
            outline = apply_homography(to_plate, self.outline)
            box = Box.around(outline, self.plate_size)
            inverse = planar_inverse_map(to_plate, box)
            samples = apply_homography(fit.homography, self.solve.tracks.ref_xy)
        else:
            vertices = self.follower.vertices(index, fit)
            outline = mesh_outline(vertices)
            box = Box.around(vertices, self.plate_size)
            inverse = mesh_inverse_map(vertices, self.grid_uv, box)
            samples = _through_grid(vertices, self.grid_uv, self.sample_uv)
        coverage = polygon_coverage(outline, self.plate_size)
        warped = render(graphic, inverse, box, coverage, float(coverage.sum()))
        share = hidden_share(samples, self.solve.tracks.visible[:, index], self.plate_size, self.solve.spacing(frame))
        if self.pull and frame != self.solve.placement.ref_frame:
            share = np.maximum(share, pulled_holdout(self.solve.motion.map_points, frame, self.solve.placement.ref_frame,
                                                     self.grown, box))
        rgba = warped * (1.0 - share)[..., None]
        stmap = self._stmap(inverse, box) if with_stmap else None
        return PinFrame(rgba, share * coverage, coverage, stmap)

    def _stmap(self, inverse: np.ndarray, box: Box) -> np.ndarray:
        """(u, v) = (x / W, 1 - y / H) of the graphic position (pixel centres at +0.5): Nuke's STMap layout."""
        width, height = self.plate_size
        gw, gh = self.solve.graphic_size
        out = np.zeros((height, width, 2), np.float32)
        if box.empty:
            return out
        uv = np.stack([inverse[..., 0] / gw, 1.0 - inverse[..., 1] / gh], axis=-1)
        uv[inverse[..., 0] <= OUTSIDE / 2] = 0.0
        out[box.y0 : box.y1, box.x0 : box.x1] = uv
        return out


def grown_region(region: np.ndarray) -> np.ndarray:
    """float32 [H, W]: the pinned region grown by PULL_MARGIN_PX. The footprint's own rim is no occlusion, and a
    point pulled back a pixel off the region's edge (tracking noise) still belongs to it."""
    size = 2 * PULL_MARGIN_PX + 1
    return cv2.dilate(region.astype(np.float32), np.ones((size, size), np.uint8))


def pulled_holdout(map_points, frame: int, ref_frame: int, grown: np.ndarray, box: Box) -> np.ndarray:
    """float32 [H, W]: 1 where the pixel's own surface does not come from the (grown) pinned region at the
    reference frame, or is hidden there. Every pixel of the graphic's box is pulled back along the motion field,
    as the exported mattes are: an occluder's pixels go back to where the occluder was, outside the region, so
    the holdout follows the occluder's own (visible, well tracked) motion, not only the hidden surface's."""
    height, width = grown.shape
    out = np.zeros((height, width), np.float32)
    if box.empty:
        return out
    x, y = box.centres()
    xy = np.stack(np.broadcast_arrays(x, y), -1).reshape(-1, 2).astype(np.float32)
    there, visible = map_points(frame, xy, ref_frame)
    rows, cols = box.shape
    where = np.asarray(there, np.float32).reshape(rows, cols, 2) - 0.5
    inside = cv2.remap(grown, np.ascontiguousarray(where[..., 0]), np.ascontiguousarray(where[..., 1]), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    out[box.y0:box.y1, box.x0:box.x1] = 1.0 - inside * visible.reshape(rows, cols)
    return out


def _through_grid(vertices: np.ndarray, grid_uv: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of vertex positions at graphic positions uv [N, 2] (extrapolated at the border)."""
    ny, nx = vertices.shape[0] - 1, vertices.shape[1] - 1
    cell = np.array([grid_uv[0, 1, 0] - grid_uv[0, 0, 0], grid_uv[1, 0, 1] - grid_uv[0, 0, 1]])
    g = uv / cell
    i = np.clip(np.floor(g[:, 0]).astype(np.int64), 0, nx - 1)
    j = np.clip(np.floor(g[:, 1]).astype(np.int64), 0, ny - 1)
    fx, fy = (g[:, 0] - i)[:, None], (g[:, 1] - j)[:, None]
    top = vertices[j, i] * (1 - fx) + vertices[j, i + 1] * fx
    bottom = vertices[j + 1, i] * (1 - fx) + vertices[j + 1, i + 1] * fx
    return top * (1 - fy) + bottom * fy
