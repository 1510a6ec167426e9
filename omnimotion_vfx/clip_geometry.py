"""How a plate's frame numbers and full-resolution pixels map to the engine's 0-based indices and
processing pixels (after --proxy). Every tracker takes and returns plate coordinates through this."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClipGeometry:
    frame_numbers: tuple[int, ...]
    scale_xy: tuple[float, float] = (1.0, 1.0)  # processing pixels per plate pixel, per axis

    def to_internal(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(frame, x, y) plate queries -> (frame index int64 [N], xy float32 [N, 2] processing pixels)."""
        queries = np.asarray(queries, np.float64).reshape(-1, 3)
        lookup = {f: i for i, f in enumerate(self.frame_numbers)}
        try:
            index = np.array([lookup[int(round(f))] for f in queries[:, 0]], np.int64)
        except KeyError as exc:
            raise ValueError(f"query frame {exc.args[0]} is not a frame of this clip") from None
        xy = queries[:, 1:3] * np.asarray(self.scale_xy)
        return index, xy.astype(np.float32)

    def frame_index(self, frame: int) -> int:
        """Plate frame number -> 0-based index; ValueError for a frame outside the clip."""
        try:
            return self.frame_numbers.index(int(frame))
        except ValueError:
            raise ValueError(f"frame {frame} is not a frame of this clip") from None

    def points_to_internal(self, xy: np.ndarray) -> np.ndarray:
        """Plate-pixel positions [N, 2] -> float32 processing pixels [N, 2]."""
        return (np.asarray(xy, np.float64).reshape(-1, 2) * np.asarray(self.scale_xy)).astype(np.float32)

    def to_plate(self, tracks_xy: np.ndarray) -> np.ndarray:
        """Processing-pixel positions [..., 2] -> plate pixels."""
        return (np.asarray(tracks_xy, np.float64) / np.asarray(self.scale_xy)).astype(np.float32)
