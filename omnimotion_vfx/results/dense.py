"""Dense products of a fitted tracker: every pixel of a frame carried to another frame, chunk by chunk.

The exporters (motion vectors, STMaps, mattes) and the pinning tools all need "where does each pixel of frame
A land in frame B, and is it visible there". `map_frame` asks the tracker's `map_points` for that in chunks of
rows so memory stays bounded whatever the resolution; callers stream one frame at a time.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

MapPoints = Callable[[int, np.ndarray, int], tuple[np.ndarray, np.ndarray]]
"""`map_points(src_frame, xy [N, 2], dst_frame) -> (xy [N, 2], visible [N])`, plate frames and pixels."""

CHUNK_POINTS = 1 << 16  # points per lookup: a 256 x 256 frame at once, bounded on HD frames


def pixel_centres(width: int, height: int, rows: slice | None = None) -> np.ndarray:
    """Centres (c + 0.5, r + 0.5) of the pixels of `rows` (all rows by default) as float32 [n, 2], row-major."""
    rows = rows or slice(0, height)
    ys = np.arange(rows.start, min(rows.stop, height), dtype=np.float32) + 0.5
    xs = np.arange(width, dtype=np.float32) + 0.5
    grid_x, grid_y = np.meshgrid(xs, ys)
    return np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)


def map_frame(
    map_points: MapPoints,
    src_frame: int,
    dst_frame: int,
    size: tuple[int, int],
    offset: tuple[float, float] = (0.0, 0.0),
    chunk_points: int = CHUNK_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel centre of plate frame `src_frame` (shifted by `offset`, for supersampling) mapped to
    `dst_frame`: positions float32 [H, W, 2] in plate pixels and visible bool [H, W]."""
    width, height = size
    out_xy = np.empty((height, width, 2), np.float32)
    out_vis = np.empty((height, width), bool)
    rows_per_chunk = max(1, chunk_points // width)
    for start in range(0, height, rows_per_chunk):
        rows = slice(start, min(height, start + rows_per_chunk))
        xy = pixel_centres(width, height, rows) + np.asarray(offset, np.float32)
        mapped, visible = map_points(int(src_frame), xy, int(dst_frame))
        out_xy[rows] = np.asarray(mapped, np.float32).reshape(rows.stop - rows.start, width, 2)
        out_vis[rows] = np.asarray(visible, bool).reshape(rows.stop - rows.start, width)
    return out_xy, out_vis
