"""Query points: `points.csv` (header `frame,x,y[,name]`, plate frame numbers, internal pixels) or a grid.

Internal pixels: origin at the top-left corner, y down, pixel centres at +0.5, so y runs over [0, height].
Points given with a bottom-left origin (Nuke's viewer, y up, centres at +0.5 too) become `height - y` at read
time: the same pixel centre, and the flip is its own inverse, so round trips are exact.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass
class Queries:
    points: np.ndarray  # float32 [N, 3] (frame, x, y) in plate frame numbers and full-resolution pixels
    names: list[str]


ORIGINS = ("top-left", "bottom-left")


def to_top_left(points: np.ndarray, height: int, origin: str) -> np.ndarray:
    """(frame, x, y) rows with y measured from `origin` -> internal pixels (top-left origin, y down)."""
    if origin not in ORIGINS:
        raise InputError(f"--origin {origin} is not one of {', '.join(ORIGINS)}")
    if origin == "top-left":
        return points
    flipped = np.array(points, np.float32)
    flipped[:, 2] = height - flipped[:, 2]
    return flipped


def read_queries_csv(path: str, frame_numbers: list[int], size: tuple[int, int], origin: str = "top-left") -> Queries:
    """Parse and check every row; a bad row is named by its line number in the file. `origin` says where the
    file's y=0 is (see the module docstring)."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot open query file {path}: {exc.strerror}; pass a CSV with header frame,x,y") from None
    with handle:
        try:
            numbered = [(n, line) for n, line in enumerate(handle, start=1) if line.strip() and not line.lstrip().startswith("#")]
        except UnicodeDecodeError:
            raise InputError(f"{path} is not a text CSV file; write a header frame,x,y and one query per line") from None
    if not numbered:
        raise InputError(f"{path} is empty; write a header frame,x,y and one query per line")
    header_line, *body = numbered
    header = [h.strip().lower() for h in next(csv.reader([header_line[1]]))]
    if header[:3] != ["frame", "x", "y"]:
        raise InputError(f"{path} line {header_line[0]}: first line must be the header frame,x,y[,name], found {','.join(header)!r}")
    has_name = len(header) > 3 and header[3] == "name"
    rows, names, lines = [], [], []
    for (line, text), row in zip(body, csv.reader(text for _, text in body)):
        try:
            frame, x, y = float(row[0]), float(row[1]), float(row[2])
        except (ValueError, IndexError):
            raise InputError(f"{path} line {line}: expected frame,x,y numbers, found {text.strip()!r}") from None
        if not all(math.isfinite(v) for v in (frame, x, y)):
            raise InputError(f"{path} line {line}: frame, x and y must be finite numbers, found {text.strip()!r}")
        rows.append((frame, x, y))
        lines.append(line)
        names.append(row[3].strip() if has_name and len(row) > 3 and row[3].strip() else f"track{len(rows):04d}")
    if not rows:
        raise InputError(f"{path} has no query rows; add lines like 1001,512.5,300.5 under the header")
    points = to_top_left(np.asarray(rows, np.float32), size[1], origin)
    check_queries(points, frame_numbers, size, source=path, labels=[f"line {n}" for n in lines])
    return Queries(points, names)


def check_queries(
    points: np.ndarray,
    frame_numbers: list[int],
    size: tuple[int, int],
    source: str = "queries",
    labels: list[str] | None = None,
) -> None:
    """Every query must sit on a plate frame and inside the image; `labels` name rows (CSV line numbers)."""
    width, height = size
    first, last = frame_numbers[0], frame_numbers[-1]
    valid_frames = set(frame_numbers)
    for row, (frame, x, y) in enumerate(points):
        where = f"{source} {labels[row] if labels else f'row {row + 1}'}"
        if frame != int(frame) or int(frame) not in valid_frames:
            raise InputError(f"{where}: frame {frame:g} is outside the plate's frames {first}-{last}")
        if not (0.0 <= x <= width and 0.0 <= y <= height):
            raise InputError(
                f"{where}: point ({x:g}, {y:g}) is outside the {width}x{height} image "
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
