"""Index math and conventions of Nuke's tracking knobs (host_formats.md), free of the nuke module.

Tracker4's `tracks` knob is a table of 31 columns per track, addressed by the flat index `track * 31 + column`.
Nuke's pixels have the origin bottom-left, y up; the daemon's the origin top-left, y down.
"""

from __future__ import annotations

import math

TRACK_COLUMNS = 31
COLUMN = {"enable": 0, "name": 1, "track_x": 2, "track_y": 3, "T": 6, "R": 7, "S": 8}


def track_index(track: int, column: str) -> int:
    return track * TRACK_COLUMNS + COLUMN[column]


def to_nuke(x: float, y: float, height: int) -> tuple[float, float]:
    """Internal pixels (top-left origin) -> Nuke pixels (bottom-left origin)."""
    return float(x), float(height) - float(y)


def corner_order(points: list[tuple[float, float]]) -> list[int]:
    """Indices of four y-up points ordered bottom-left, bottom-right, top-right, top-left: CornerPin2D's
    to1..to4 (counter-clockwise from the left, as omnimotion_vfx/exporters/nuke_tracks.corner_order)."""
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    angle = [(math.atan2(y - cy, x - cx) + math.pi) % (2 * math.pi) for x, y in points]
    return sorted(range(len(points)), key=angle.__getitem__)

