"""Forward-backward checks that decide which flow vectors become correspondences.

Consistent: the backward flow at the forward target returns within `threshold` of the start.
Reliable occluded (OmniMotion's small-gap rule): the single cycle fails by more than `occluded_threshold`, yet a
forward-backward-forward cycle lands within `double_threshold` of the first target and stays in frame. Such a
pixel is hidden in frame j behind something whose motion the flow followed consistently.
"""

from __future__ import annotations

import numpy as np

from .warp import inside_map, lands_inside, sample_map, targets


def _length_squared(v: np.ndarray) -> np.ndarray:
    return v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1]


def cycle_offset(f_ij: np.ndarray, f_ji: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [H, W, 2] where forward-then-backward lands relative to the start, zero when consistent;
    bool [H, W] whether the forward target is inside frame j)."""
    where = targets(f_ij)
    return f_ij + sample_map(f_ji, where), inside_map(where)


def consistent_mask(back: np.ndarray, inside: np.ndarray, threshold: float) -> np.ndarray:
    """back, inside: cycle_offset(f_ij, f_ji)."""
    return (_length_squared(back) < threshold * threshold) & inside


def occluded_reliable_mask(
    f_ij: np.ndarray, back: np.ndarray, inside: np.ndarray, occluded_threshold: float, double_threshold: float
) -> np.ndarray:
    """bool [H, W]: pixels whose single cycle fails but whose double cycle closes (see module docstring)."""
    where_back = targets(back)
    again = back + sample_map(f_ij, where_back)  # offset x -> y' (forward, backward, forward)
    single = _length_squared(back) > occluded_threshold * occluded_threshold
    double = _length_squared(again - f_ij) < double_threshold * double_threshold
    return single & double & inside & inside_map(where_back) & lands_inside(again)
