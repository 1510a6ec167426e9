"""Solve a pin: track the region's points once and fit the per-frame motion every output is built from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..progress import StopToken
from .motion import ClipMotion, FrameFit, RegionTracks, apply_homography, fit_homographies, track_points
from .region import PinPlacement, graphic_homography, sample_region

DEFAULT_MAX_POINTS = 4000


@dataclass(frozen=True)
class PinSolve:
    """The placement, the tracked region points and one fitted motion per clip frame."""

    placement: PinPlacement
    graphic_size: tuple[int, int]
    tracks: RegionTracks
    fits: dict[int, FrameFit]
    stride_px: float  # spacing of the region's sample points at the reference frame
    motion: ClipMotion | None = None  # the field the points were carried by; its map_points pulls occluders too

    @property
    def frames(self) -> list[int]:
        return self.tracks.frames

    @property
    def graphic_to_ref(self) -> np.ndarray:
        return graphic_homography(self.graphic_size, self.placement.corners)

    def graphic_to_plate(self, frame: int) -> np.ndarray:
        """Homography from graphic pixels to this frame's plate pixels (the planar pin)."""
        return self.fits[frame].homography @ self.graphic_to_ref

    def corners(self, frame: int) -> np.ndarray:
        """The graphic's corners (TL, TR, BR, BL) in this frame's plate pixels, float64 [4, 2]."""
        return apply_homography(self.fits[frame].homography, self.placement.corners)

    def spacing(self, frame: int) -> float:
        """Sample spacing in this frame: the reference spacing times the quad's linear scale change."""
        return self.stride_px * float(np.sqrt(_area(self.corners(frame)) / max(_area(self.placement.corners), 1e-9)))


def solve_pin(
    motion: ClipMotion,
    frames: list[int],
    placement: PinPlacement,
    graphic_size: tuple[int, int],
    max_points: int = DEFAULT_MAX_POINTS,
    stop: StopToken | None = None,
) -> PinSolve:
    """Carry a lattice of the region's pixels from the reference frame along the clip's motion field and fit a
    homography per frame."""
    if placement.ref_frame not in frames:
        raise InputError(f"--at {placement.ref_frame} is not a frame of the plate ({frames[0]}-{frames[-1]})")
    ref_xy, stride = sample_region(placement.region, max_points)
    tracks = track_points(motion, placement.ref_frame, ref_xy, frames, stop=stop)
    fits = fit_homographies(tracks, placement.ref_frame)
    return PinSolve(placement, graphic_size, tracks, fits, stride, motion)


def _area(quad: np.ndarray) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
