"""3DEqualizer 2D points, CSV and JSON: plain-text tracks for matchmove packages and pipeline scripts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..results.folder import TrackResults
from .common import fmt, plate_size, to_bottom_left, write_text


def write_3de_points(results: TrackResults, path: Path, first_frame: int = 1) -> Path:
    """3DEqualizer's 2D-points text: count; per point name, colour index, frame count, `frame x y` lines.

    Pixels with origin bottom-left; occluded frames are absent (3DE treats them as not tracked). 3DE numbers a
    camera's frames from 1, so by default the plate's first frame becomes 1 (`first_frame=1001` keeps plate
    numbers for a camera whose frame offset is 1001).
    """
    _, height = plate_size(results)
    xy_up = to_bottom_left(results.tracks, height)
    shift = first_frame - int(results.frames[0])
    lines = [str(len(results.names))]
    for i, (name, xy, visible) in enumerate(zip(results.names, xy_up, results.visible)):
        lines += [name.replace(" ", "_"), str(i % 8), str(int(visible.sum()))]
        lines += [f"{int(f) + shift} {fmt(x)} {fmt(y)}" for f, (x, y) in zip(results.frames[visible], xy[visible])]
    return write_text(path, "\n".join(lines) + "\n")


CSV_COLUMNS = ("track", "name", "frame", "x", "y", "visible")


def write_csv(results: TrackResults, path: Path) -> Path:
    """One row per track and frame, occluded frames included (visible = 0) because scripts usually want the
    predicted position too. Internal coordinates: pixels, origin top-left, pixel centres at +0.5."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, (name, xy, visible) in enumerate(zip(results.names, results.tracks, results.visible)):
        for frame, (x, y), vis in zip(results.frames, xy, visible):
            writer.writerow((i, name, int(frame), fmt(x), fmt(y), int(vis)))
    return write_text(path, buffer.getvalue())


def write_json(results: TrackResults, path: Path) -> Path:
    """Every track with its query, positions and visibility per frame; coordinates as in the CSV."""
    width, height = plate_size(results)
    payload = {
        "format": "omnivfx-tracks",
        "version": 1,
        "coordinates": "pixels, origin top-left, y down, pixel centres at +0.5",
        "width": width,
        "height": height,
        "frames": [int(f) for f in results.frames],
        "tracks": [
            {
                "name": name,
                "query": {"frame": int(q[0]), "x": round(float(q[1]), 4), "y": round(float(q[2]), 4)},
                "xy": [[round(float(x), 4), round(float(y), 4)] for x, y in xy],
                "visible": [bool(v) for v in visible],
            }
            for name, q, xy, visible in zip(results.names, results.query_points, results.tracks, results.visible)
        ],
    }
    return write_text(path, json.dumps(payload, separators=(",", ":")) + "\n")


def write_visibility_table(results: TrackResults, path: Path) -> Path:
    """Per-track visibility as a frame x track table of 0/1 (a quick way to key a Tracker's enable curve or
    to check which points survive an occlusion)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["frame", *results.names])
    for t, frame in enumerate(results.frames):
        writer.writerow([int(frame), *(int(v) for v in results.visible[:, t])])
    return write_text(path, buffer.getvalue())
