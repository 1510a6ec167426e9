"""Forward-backward checks that decide which flow vectors become correspondences.

Consistent: the backward flow at the forward target returns within `threshold` of the start.
Reliable occluded (OmniMotion's small-gap rule): the single cycle fails by more than `occluded_threshold`, yet a
forward-backward-forward cycle lands within `double_threshold` of the first target and stays in frame. Such a
pixel is hidden in frame j behind something whose motion the flow followed consistently.
"""

from __future__ import annotations

import numpy as np

from .warp import lands_inside, sample_at


def cycle_error(f_ij: np.ndarray, f_ji: np.ndarray) -> np.ndarray:
    """float32 [H, W]: |x - back(forward(x))| in pixels."""
    return np.linalg.norm(f_ij + sample_at(f_ji, f_ij), axis=2)


def consistent_mask(f_ij: np.ndarray, f_ji: np.ndarray, threshold: float) -> np.ndarray:
    return (cycle_error(f_ij, f_ji) < threshold) & lands_inside(f_ij)


def occluded_reliable_mask(
    f_ij: np.ndarray, f_ji: np.ndarray, occluded_threshold: float, double_threshold: float
) -> np.ndarray:
    """bool [H, W]: pixels whose single cycle fails but whose double cycle closes (see module docstring)."""
    back = f_ij + sample_at(f_ji, f_ij)  # offset x -> x' (forward then backward)
    again = back + sample_at(f_ij, back)  # offset x -> y' (forward, backward, forward)
    single = np.linalg.norm(back, axis=2)
    double = np.linalg.norm(again - f_ij, axis=2)
    inside = lands_inside(f_ij) & lands_inside(back) & lands_inside(again)
    return (single > occluded_threshold) & (double < double_threshold) & inside
