"""Appearance agreement of a match: zero-mean normalised cross-correlation of local patches.

It stands in for the paper's DINO-feature check on long gaps and chains, where flow can be cycle-consistent
and still wrong (two similar textures swapping). Frame j is warped onto frame i's grid by the flow, then local
means, variances and covariance come from box filters, so the whole frame costs a handful of C++ passes.
"""

from __future__ import annotations

import cv2
import numpy as np

from .warp import sample_at

FLAT_STD = 2.0  # grey levels (0-255): below this a patch has no texture to correlate
FLAT_MEAN_DIFF = 10.0  # two flat patches agree when their means are this close


def zncc(a: np.ndarray, b: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ZNCC of (2r+1)^2 patches around every pixel of two aligned float32 images; also both local std maps."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    ma, mb = box(a), box(b)
    va = np.maximum(box(a * a) - ma * ma, 0.0)
    vb = np.maximum(box(b * b) - mb * mb, 0.0)
    cov = box(a * b) - ma * mb
    ncc = cov / np.sqrt(va * vb + 1e-6)
    return ncc, np.sqrt(va), np.sqrt(vb)


def appearance_agrees(
    gray_i: np.ndarray, gray_j: np.ndarray, flow_ij: np.ndarray, radius: int, min_ncc: float
) -> np.ndarray:
    """bool [H, W]: the patch around each pixel of frame i matches the flow-warped patch of frame j."""
    warped = sample_at(gray_j, flow_ij)
    ncc, sa, sb = zncc(gray_i, warped, radius)
    size = (2 * radius + 1, 2 * radius + 1)
    mean_diff = np.abs(cv2.boxFilter(gray_i - warped, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT))
    flat = (sa < FLAT_STD) & (sb < FLAT_STD) & (mean_diff < FLAT_MEAN_DIFF)
    return (ncc >= min_ncc) | flat
