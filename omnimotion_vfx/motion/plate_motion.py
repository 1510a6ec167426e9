"""The motion field in plate units: plate frame numbers and full-resolution plate pixels, through the clip's
`ClipGeometry` (proxy scaling). This is what exporters, pins, the daemon and the bridges read."""

from __future__ import annotations

import numpy as np

from ..clip_geometry import ClipGeometry
from .field import MotionField
from .trajectories import Trajectories


class PlateMotion:
    """`map_points(src_frame, xy, dst_frame)` for dense products, `track(queries)` for many points at once."""

    def __init__(self, field: MotionField, geometry: ClipGeometry) -> None:
        self.field = field
        self.geometry = geometry

    def map_points(self, src_frame: int, xy: np.ndarray, dst_frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Plate pixels xy [N, 2] of plate frame `src_frame` -> plate pixels [N, 2] at `dst_frame`, visible [N]."""
        src, dst = self.geometry.frame_index(src_frame), self.geometry.frame_index(dst_frame)
        there, visible = self.field.map(src, self.geometry.points_to_internal(xy), dst)
        return self.geometry.to_plate(there), visible

    def track(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Queries (frame, x, y) [N, 3] in plate units -> tracks [N, T, 2] plate pixels, visible [N, T]."""
        index, xy = self.geometry.to_internal(queries)
        tracks, visible = self.field.track(index, xy)
        return self.geometry.to_plate(tracks), visible

    def add_tracks(self, queries: np.ndarray, tracks: np.ndarray, visible: np.ndarray) -> None:
        """Answered query tracks (plate units) join the field, so every dense product agrees with them."""
        if len(queries) == 0:
            return
        index, _ = self.geometry.to_internal(queries)
        positions = self.geometry.points_to_internal(tracks).reshape(np.shape(tracks))
        self.field.add(Trajectories(positions, np.asarray(visible, bool), index, np.ones(len(index), bool)))
