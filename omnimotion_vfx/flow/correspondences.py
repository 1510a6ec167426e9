"""The engine's input: filtered pairwise correspondences between frames of one clip.

Coordinates are processing pixels (after --proxy), x right, y down, pixel centres at +0.5; frames are
0-based indices into the clip. For a pair (i, j), `flow[y, x]` is the offset from the centre of pixel (x, y)
in frame i to its match in frame j. Flows are stored as float16 and masks as bool (packed on disk).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PairFlow:
    i: int
    j: int
    flow: np.ndarray  # float16 [H, W, 2]
    valid: np.ndarray  # bool [H, W]: cycle-consistent (and appearance-consistent for longer gaps)
    occluded_reliable: np.ndarray | None = None  # bool [H, W]: gaps < 3 only, see the reference
    source: str = "direct"  # "direct" | "chained" | "direct+chained"

    @property
    def gap(self) -> int:
        return abs(self.j - self.i)


@dataclass
class SparseMatches:
    """Long-range keypoint matches (SIFT/ORB, ratio test, two-way check) where dense flow fails."""

    i: np.ndarray  # int32 [M]
    j: np.ndarray  # int32 [M]
    xy_i: np.ndarray  # float32 [M, 2]
    xy_j: np.ndarray  # float32 [M, 2]


@dataclass
class Correspondences:
    num_frames: int
    size: tuple[int, int]  # (width, height) processing pixels
    pairs: dict[tuple[int, int], PairFlow] = field(default_factory=dict)
    count_maps: np.ndarray | None = None  # float32 [T, H, W]: valid matches per pixel over all pairs
    sparse: SparseMatches | None = None
    params: dict = field(default_factory=dict)

    def pair_counts(self) -> np.ndarray:
        """int64 [T, T]: number of valid matches per ordered pair (weights pair sampling)."""
        counts = np.zeros((self.num_frames, self.num_frames), np.int64)
        for (i, j), pair in self.pairs.items():
            counts[i, j] = int(pair.valid.sum())
        return counts

    def get(self, i: int, j: int) -> PairFlow | None:
        return self.pairs.get((i, j))
