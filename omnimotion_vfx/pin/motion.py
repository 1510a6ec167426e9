"""Carry the region's sample points through the clip and fit one homography per frame to them.

Points are carried by the clip's motion field (omnimotion_vfx/motion), the same representation the dense
exports read, in one call for every frame (`tracks, visible = motion.track(queries)`): the pin, its holdout and
the STMaps and mattes of the same surface agree, and the holdout is the field's visibility.
The homography is fitted with OpenCV's USAC (MAGSAC++) on visible points only, so points that drifted onto
an occluder or failed their cycle check are outliers, not errors; when the points do not show perspective,
fewer parameters are fitted (see `fit_homographies`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ..progress import StopToken

MIN_POINTS = 8
NOISE_FLOOR_PX = 0.05  # tracker noise assumed at least this, so exact answers do not make any model win by 0/0


class ClipMotion(Protocol):
    """What a pin reads: `motion.track(queries (frame, x, y) [N, 3])` -> tracks [N, T, 2], visible [N, T], in
    plate frames and pixels (motion/plate_motion.py)."""

    def track(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class RegionTracks:
    """Sample points of the region at the reference frame and where the tracker puts them in each frame."""

    frames: list[int]
    ref_xy: np.ndarray  # float64 [N, 2] plate pixels at the reference frame
    xy: np.ndarray  # float32 [N, F, 2] plate pixels
    visible: np.ndarray  # bool [N, F]


@dataclass(frozen=True)
class FrameFit:
    """The region's motion from the reference frame to one frame."""

    homography: np.ndarray  # float64 [3, 3], reference plate pixels -> this frame's plate pixels
    visible_fraction: float  # share of the region's sample points the tracker sees in this frame
    inlier_fraction: float  # share of the visible points that agree with the homography
    held: bool  # too few visible points: the last good fit is held


def track_points(
    motion: ClipMotion, ref_frame: int, ref_xy: np.ndarray, frames: list[int], chunk: int = 20000, stop: StopToken | None = None
) -> RegionTracks:
    """Carry `ref_xy` from `ref_frame` through `frames`, the clip's frames in order."""
    n = len(ref_xy)
    xy = np.zeros((n, len(frames), 2), np.float32)
    visible = np.zeros((n, len(frames)), bool)
    for start in range(0, n, chunk):
        if stop is not None:
            stop.raise_if_requested("while tracking the pinned region")
        part = ref_xy[start : start + chunk]
        queries = np.concatenate([np.full((len(part), 1), ref_frame, np.float64), part], axis=1).astype(np.float32)
        tracks, vis = motion.track(queries)
        xy[start : start + chunk] = tracks
        visible[start : start + chunk] = vis
    return RegionTracks(list(frames), np.asarray(ref_xy, np.float64), xy, visible)


def fit_homographies(tracks: RegionTracks, ref_frame: int, threshold_px: float = 1.5) -> dict[int, FrameFit]:
    """One robust homography per frame (identity at the reference frame), solved outwards from it.

    A homography fitted to a small or thinly covered patch extrapolates its noise to the far corners (a hand
    covering most of a sign). So each frame also tries the neighbouring frame's fit followed by an affine or a
    similarity change, and keeps the model with the lowest BIC on the inliers: perspective is re-estimated
    only when the points really show it. Frames with fewer than MIN_POINTS visible hold the neighbour's fit."""
    fits: dict[int, FrameFit] = {}
    ref_index = tracks.frames.index(ref_frame)
    order = list(range(ref_index, len(tracks.frames))) + list(range(ref_index - 1, -1, -1))
    for i in order:
        frame = tracks.frames[i]
        vis = tracks.visible[:, i]
        fraction = float(vis.mean())
        if frame == ref_frame:
            fits[frame] = FrameFit(np.eye(3), fraction, 1.0, False)
            continue
        neighbour = fits[tracks.frames[i - 1] if i > ref_index else tracks.frames[i + 1]]
        fits[frame] = _fit_frame(tracks.ref_xy[vis], tracks.xy[vis, i].astype(np.float64), fraction, neighbour, threshold_px)
    return {f: fits[f] for f in tracks.frames}


def _fit_frame(src: np.ndarray, dst: np.ndarray, fraction: float, neighbour: FrameFit, threshold_px: float) -> FrameFit:
    held = FrameFit(neighbour.homography, fraction, 0.0, True)
    if len(src) < MIN_POINTS:
        return held
    homography, inliers = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, threshold_px, maxIters=2000, confidence=0.999)
    if homography is None or inliers is None or inliers.sum() < MIN_POINTS:
        return held
    keep = inliers.ravel().astype(bool)
    src, dst = src[keep], dst[keep]
    refined, _ = cv2.findHomography(src, dst, 0)  # least squares on all agreeing points
    candidates = [(refined if refined is not None else homography, 8)]
    moved = apply_homography(neighbour.homography, src)
    for change, dof in ((_affine_lsq(moved, dst), 6), (_similarity_lsq(moved, dst), 4)):
        candidates.append((change @ neighbour.homography, dof))
    errors = [float(((apply_homography(h, src) - dst) ** 2).sum()) for h, _ in candidates]
    noise = max(errors[0] / max(2 * len(src) - 8, 1), NOISE_FLOOR_PX**2)
    scores = [e / noise + dof * np.log(2 * len(src)) for e, (_, dof) in zip(errors, candidates)]
    best = candidates[int(np.argmin(scores))][0]
    return FrameFit(best / best[2, 2], fraction, float(keep.mean()), False)


def _affine_lsq(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares affine map src -> dst as a 3x3 matrix."""
    design = np.column_stack([src, np.ones(len(src))])
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return np.vstack([solution.T, [0.0, 0.0, 1.0]])


def _similarity_lsq(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (scale, rotation, translation) src -> dst as a 3x3 matrix."""
    n = len(src)
    design = np.zeros((2 * n, 4))
    design[0::2] = np.column_stack([src[:, 0], -src[:, 1], np.ones(n), np.zeros(n)])
    design[1::2] = np.column_stack([src[:, 1], src[:, 0], np.zeros(n), np.ones(n)])
    (a, b, tx, ty), *_ = np.linalg.lstsq(design, dst.reshape(-1), rcond=None)
    return np.array([[a, -b, tx], [b, a, ty], [0.0, 0.0, 1.0]])


def apply_homography(homography: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Map points [N, 2] through a 3x3 homography."""
    pts = np.asarray(xy, np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(pts, np.asarray(homography, np.float64)).reshape(-1, 2)
