"""Each pixel's own step to the neighbouring frames (the adjacent input flow): the field uses it to tell which
nearby trajectories move with a pixel, so motion does not bleed across an object's edge."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
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


class CachedFlowPairs:
    """Adjacent flows read back from the flow cache (`<folder>/gap1/00012_00013.npz`), a few frames kept:
    reloading a results folder for export needs neither the plate nor the other pairs."""

    def __init__(self, folder: Path, keep: int = 4) -> None:
        self.folder = Path(folder)
        self.keep = keep
        self._held: OrderedDict[tuple[int, int], np.ndarray | None] = OrderedDict()

    def step(self, frame: int, direction: int) -> np.ndarray | None:
        key = (frame, frame + direction)
        if key not in self._held:
            path = self.folder / "gap1" / f"{key[0]:05d}_{key[1]:05d}.npz"
            try:
                with np.load(path) as data:
                    self._held[key] = data["flow"]
            except (OSError, ValueError, KeyError):
                self._held[key] = None
            while len(self._held) > self.keep:
                self._held.popitem(last=False)
        self._held.move_to_end(key)
        return self._held[key]
