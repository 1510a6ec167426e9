"""Where the graphic sits at the reference frame: four corners and/or a mask, in plate pixels.

Corners are top-left, top-right, bottom-right, bottom-left of the graphic, in internal coordinates (origin at
the top-left corner of the plate, y down). The tracked region is the mask when one is given (a sign larger
than its logo tracks better), the corner quad otherwise; a mask alone places the graphic on its bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError
from .warp import polygon_coverage


@dataclass(frozen=True)
class PinPlacement:
    """The graphic's corners at `ref_frame` and the region whose motion carries it."""

    ref_frame: int
    corners: np.ndarray  # float64 [4, 2]: TL, TR, BR, BL in plate pixels
    region: np.ndarray  # bool [H, W] at the reference frame, plate pixels
    mask: np.ndarray | None = None  # float32 [H, W] in [0, 1]: shapes the graphic's alpha when given

    @property
    def plate_size(self) -> tuple[int, int]:
        return self.region.shape[1], self.region.shape[0]


def parse_corners(text: str) -> np.ndarray:
    """'x1,y1,...,x4,y4' (TL, TR, BR, BL) -> float64 [4, 2]."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        values = []
    if len(values) != 8:
        raise InputError(f"--corners {text!r} needs 8 numbers x1,y1,...,x4,y4 (top-left, top-right, bottom-right, bottom-left)")
    return np.asarray(values, np.float64).reshape(4, 2)


def make_placement(
    ref_frame: int,
    plate_size: tuple[int, int],
    corners: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> PinPlacement:
    """Check the corners (convex, non-degenerate, on the plate) and the mask, and build the tracked region."""
    width, height = plate_size
    if corners is None and mask is None:
        raise InputError("place the graphic with --corners x1,y1,...,x4,y4 or --mask region.png")
    if mask is not None:
        mask = np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
        if mask.shape != (height, width):
            raise InputError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the plate is {width}x{height}; conform it to the plate")
        if not (mask > 0.5).any():
            raise InputError("the mask is empty (no pixel above 0.5); paint the region white on black")
    if corners is None:
        rows, cols = np.nonzero(mask > 0.5)
        x0, x1, y0, y1 = cols.min(), cols.max() + 1, rows.min(), rows.max() + 1
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    corners = np.asarray(corners, np.float64).reshape(4, 2)
    _check_quad(corners, plate_size)
    if mask is not None:
        region = mask > 0.5
    else:
        region = polygon_coverage(corners, plate_size) > 0.5
    if region.sum() < 16:
        raise InputError("the pinned region covers fewer than 16 pixels; give a larger quad or mask")
    return PinPlacement(int(ref_frame), corners, region, mask)


def sample_region(region: np.ndarray, max_points: int) -> tuple[np.ndarray, float]:
    """Pixel centres of the region on a regular lattice with at most ~max_points: (xy [N, 2], stride px)."""
    count = int(region.sum())
    stride = max(1, int(np.ceil(np.sqrt(count / max_points))))
    sub = np.zeros_like(region)
    sub[stride // 2 :: stride, stride // 2 :: stride] = True
    rows, cols = np.nonzero(region & sub)
    if len(rows) < 16:
        rows, cols = np.nonzero(region)
        stride = 1
    return np.stack([cols + 0.5, rows + 0.5], axis=1).astype(np.float64), float(stride)


def graphic_homography(graphic_size: tuple[int, int], corners: np.ndarray) -> np.ndarray:
    """Homography from graphic pixels (corners of the image at (0,0)...(W,H)) to plate pixels at the corners."""
    gw, gh = graphic_size
    src = np.array([[0, 0], [gw, 0], [gw, gh], [0, gh]], np.float64)
    return cv2.getPerspectiveTransform(src.astype(np.float32), np.asarray(corners, np.float32)).astype(np.float64)


def _check_quad(corners: np.ndarray, plate_size: tuple[int, int]) -> None:
    width, height = plate_size
    edges = np.roll(corners, -1, axis=0) - corners
    nxt = np.roll(edges, -1, axis=0)
    cross = edges[:, 0] * nxt[:, 1] - edges[:, 1] * nxt[:, 0]
    if not ((cross > 1e-6).all() or (cross < -1e-6).all()):
        raise InputError("--corners do not form a convex quad; give them in order top-left, top-right, bottom-right, bottom-left")
    inside = (corners[:, 0] >= -width) & (corners[:, 0] <= 2 * width) & (corners[:, 1] >= -height) & (corners[:, 1] <= 2 * height)
    if not inside.all():
        raise InputError(f"--corners lie far outside the {width}x{height} plate; give plate pixels (top-left origin)")
    if polygon_coverage(corners, plate_size).sum() < 1.0:
        raise InputError(f"the --corners quad does not overlap the {width}x{height} plate; give plate pixels (top-left origin)")
