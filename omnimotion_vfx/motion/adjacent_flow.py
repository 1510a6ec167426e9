"""Each pixel's own step to the neighbouring frames (the adjacent input flow): the field uses it to tell which
nearby trajectories move with a pixel, so motion does not bleed across an object's edge."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..flow.correspondences import Correspondences


class AdjacentFlow(Protocol):
    def step(self, frame: int, direction: int) -> np.ndarray | None:
        """float16/32 [H, W, 2]: the flow from `frame` to `frame + direction` (+1 or -1), None if absent."""
        ...


class FlowPairs:
    """Adjacent flows held by the correspondences already in memory (the run that fitted the clip)."""

    def __init__(self, correspondences: Correspondences) -> None:
        self.pairs = correspondences.pairs

    def step(self, frame: int, direction: int) -> np.ndarray | None:
        pair = self.pairs.get((frame, frame + direction))
        return None if pair is None else pair.flow
