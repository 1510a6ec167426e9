"""Forward-backward checks that decide which flow vectors become correspondences.

Consistent: the backward flow at the forward target returns within `threshold` of the start.
Reliable occluded (OmniMotion's small-gap rule): the single cycle fails by more than `occluded_threshold`, yet a
forward-backward-forward cycle lands within `double_threshold` of the first target and stays in frame. Such a
pixel is hidden in frame j behind something whose motion the flow followed consistently.
"""

from __future__ import annotations

import numpy as np

from .warp import lands_inside, sample_at


def _length_squared(v: np.ndarray) -> np.ndarray:
    return v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1]


def cycle_offset(f_ij: np.ndarray, f_ji: np.ndarray) -> np.ndarray:
    """float32 [H, W, 2]: where forward-then-backward lands, relative to the start (zero when consistent)."""
    return f_ij + sample_at(f_ji, f_ij)


def consistent_mask(f_ij: np.ndarray, back: np.ndarray, threshold: float) -> np.ndarray:
    """back: cycle_offset(f_ij, f_ji)."""
    return (_length_squared(back) < threshold * threshold) & lands_inside(f_ij)


def occluded_reliable_mask(f_ij: np.ndarray, back: np.ndarray, occluded_threshold: float, double_threshold: float) -> np.ndarray:
    """bool [H, W]: pixels whose single cycle fails but whose double cycle closes (see module docstring)."""
    again = back + sample_at(f_ij, back)  # offset x -> y' (forward, backward, forward)
    single = _length_squared(back) > occluded_threshold * occluded_threshold
    double = _length_squared(again - f_ij) < double_threshold * double_threshold
    return single & double & lands_inside(f_ij) & lands_inside(back) & lands_inside(again)
