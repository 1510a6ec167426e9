"""The nodes of the motion field: full-length trajectories with per-frame visibility, in processing pixels
and 0-based frames. Seeded grid points and the user's query tracks are both kept here, so a dense lookup at a
query point returns that query's own track."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..flow.cache import atomic_save_npz
from ..npz_arrays import load_npz


@dataclass
class Trajectories:
    positions: np.ndarray  # float32 [N, T, 2] processing pixels
    visible: np.ndarray  # bool [N, T]
    anchor: np.ndarray  # int64 [N]: the frame each trajectory was seeded or queried in
    is_query: np.ndarray  # bool [N]: a user's query track (wins its cell over seeded trajectories)

    @classmethod
    def empty(cls, frames: int) -> "Trajectories":
        return cls(np.zeros((0, frames, 2), np.float32), np.zeros((0, frames), bool), np.zeros(0, np.int64),
                   np.zeros(0, bool))

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def frames(self) -> int:
        return self.positions.shape[1]

    def concat(self, other: "Trajectories") -> "Trajectories":
        return Trajectories(np.concatenate([self.positions, other.positions.astype(np.float32)]),
                            np.concatenate([self.visible, other.visible.astype(bool)]),
                            np.concatenate([self.anchor, other.anchor.astype(np.int64)]),
                            np.concatenate([self.is_query, other.is_query.astype(bool)]))

    def save(self, path: Path, **meta: np.ndarray) -> None:
        """Atomic (written beside `path`, then renamed), as the flow cache writes its pairs: a killed run never
        leaves half a file."""
        atomic_save_npz(Path(path), {"positions": self.positions, "visible": np.packbits(self.visible, axis=-1),
                                     "anchor": self.anchor, "is_query": self.is_query, **meta})

    @classmethod
    def load(cls, path: Path) -> tuple["Trajectories", dict[str, np.ndarray]]:
        """The trajectories and any extra arrays saved with them."""
        data = load_npz(path)  # the daemon's workers read these side by side (npz_arrays.py)
        positions = data["positions"].astype(np.float32)
        visible = np.unpackbits(data["visible"], axis=-1, count=positions.shape[1]).astype(bool)
        meta = {k: v for k, v in data.items() if k not in ("positions", "visible", "anchor", "is_query")}
        return cls(positions, visible, data["anchor"].astype(np.int64), data["is_query"].astype(bool)), meta
