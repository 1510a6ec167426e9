"""Query points: `points.csv` (header `frame,x,y[,name]`, plate frame numbers, internal pixels) or a grid."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass
class Queries:
    points: np.ndarray  # float32 [N, 3] (frame, x, y) in plate frame numbers and full-resolution pixels
    names: list[str]


def read_queries_csv(path: str, frame_numbers: list[int], size: tuple[int, int]) -> Queries:
    """Parse and check every row; a bad row is named by its line number."""
    try:
        handle = open(path, newline="")
    except OSError as exc:
        raise InputError(f"cannot open query file {path}: {exc.strerror}; pass a CSV with header frame,x,y") from None
    with handle:
        reader = csv.reader(row for row in handle if row.strip() and not row.lstrip().startswith("#"))
        header = [h.strip().lower() for h in next(reader, [])]
        if header[:3] != ["frame", "x", "y"]:
            raise InputError(f"{path}: first line must be the header frame,x,y[,name], found {','.join(header) or 'nothing'}")
        has_name = len(header) > 3 and header[3] == "name"
        rows, names = [], []
        for line, row in enumerate(reader, start=2):
            try:
                frame, x, y = float(row[0]), float(row[1]), float(row[2])
            except (ValueError, IndexError):
                raise InputError(f"{path} line {line}: expected frame,x,y numbers, found {','.join(row)!r}") from None
            rows.append((frame, x, y))
            names.append(row[3].strip() if has_name and len(row) > 3 and row[3].strip() else f"track{len(rows):04d}")
    if not rows:
        raise InputError(f"{path} has no query rows; add lines like 1001,512.5,300.5 under the header")
    points = np.asarray(rows, np.float32)
    check_queries(points, frame_numbers, size, source=path)
    return Queries(points, names)


def check_queries(points: np.ndarray, frame_numbers: list[int], size: tuple[int, int], source: str = "queries") -> None:
    width, height = size
    first, last = frame_numbers[0], frame_numbers[-1]
    valid_frames = set(frame_numbers)
    for row, (frame, x, y) in enumerate(points, start=1):
        if frame != int(frame) or int(frame) not in valid_frames:
            raise InputError(f"{source} row {row}: frame {frame:g} is outside the plate's frames {first}-{last}")
        if not (0.0 <= x <= width and 0.0 <= y <= height):
            raise InputError(
                f"{source} row {row}: point ({x:g}, {y:g}) is outside the {width}x{height} image "
                "(x right, y down from the top-left corner)"
            )


def grid_queries(n: int, frame: int, size: tuple[int, int]) -> Queries:
    """An n x n grid of pixel centres at `frame`, inset by half a cell so no point sits on the border."""
    if n < 1:
        raise InputError(f"--grid {n} must be at least 1")
    width, height = size
    xs = (np.arange(n) + 0.5) * width / n
    ys = (np.arange(n) + 0.5) * height / n
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([np.full(gx.size, frame, np.float32), gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    names = [f"grid_{r:02d}_{c:02d}" for r in range(n) for c in range(n)]
    return Queries(points, names)
