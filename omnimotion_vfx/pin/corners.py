"""Corner pins per frame: what the host bridges turn into a Nuke CornerPin2D or a Blender plane track.

`pin_corners_per_frame` needs no graphic and writes nothing: it answers, for every clip frame, where the four
corners of a quad placed at the reference frame go, and how much of the surface the tracker sees there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..progress import StopToken
from .motion import ClipMotion
from .region import make_placement
from .solve import DEFAULT_MAX_POINTS, solve_pin


@dataclass(frozen=True)
class CornerKey:
    """One frame of a corner pin."""

    corners: np.ndarray  # float64 [4, 2]: TL, TR, BR, BL, plate pixels, top-left origin, y down
    visible_fraction: float  # share of the region's points visible in this frame (0 = fully hidden)
    held: bool  # too few visible points: the corners repeat the nearest solved frame's motion


def pin_corners_per_frame(
    motion: ClipMotion,
    frames: list[int],
    ref_frame: int,
    corners: np.ndarray,
    plate_size: tuple[int, int],
    mask: np.ndarray | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    stop: StopToken | None = None,
) -> dict[int, CornerKey]:
    """Plate frame -> CornerKey for a quad `corners` (TL, TR, BR, BL at `ref_frame`, plate pixels).

    `motion` is the plate's motion field (e.g. `fit_job(TrackJob(...))[0].motion()`) whose clip frames are
    `frames`; `mask` (float [H, W]) optionally names the surface to track when it is larger than the quad.
    The corners follow a robust per-frame homography of the region's tracked points (the planar pin)."""
    placement = make_placement(ref_frame, plate_size, np.asarray(corners, np.float64), mask)
    quad = placement.corners
    side = max(1, int(round(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0])))))
    solve = solve_pin(motion, list(frames), placement, (side, side), max_points, stop)
    return {f: CornerKey(solve.corners(f), solve.fits[f].visible_fraction, solve.fits[f].held) for f in solve.frames}


def to_nuke_cornerpin(corners: np.ndarray, plate_height: int) -> np.ndarray:
    """TL, TR, BR, BL top-left-origin corners -> CornerPin2D `to1..to4` (BL, BR, TR, TL) in Nuke's y-up pixels."""
    ordered = np.asarray(corners, np.float64)[[3, 2, 1, 0]]
    return np.stack([ordered[:, 0], plate_height - ordered[:, 1]], axis=1)
