"""Query points from what the artist drew: selected markers, or the inside of a mask or an annotation.

Queries are (plate frame, x, y) in internal pixels (origin top-left, pixel centres at +0.5), the daemon's
convention; Blender's marker.co is normalised with the origin bottom-left, so x = u * W and y = (1 - v) * H.
"""

from __future__ import annotations

import numpy as np

import bpy

from .clip_source import ClipPlate


def marker_queries(clip: bpy.types.MovieClip, plate: ClipPlate, clip_frame: int) -> tuple[list[str], list[list[float]]]:
    """Names and queries of the selected tracks that hold an unmuted marker at `clip_frame`."""
    names, points = [], []
    for track in clip.tracking.objects.active.tracks:
        if not track.select:
            continue
        marker = track.markers.find_frame(clip_frame, exact=True)
        if marker is None or marker.mute:
            continue
        names.append(track.name)
        points.append([float(plate.plate_frame(clip_frame)), marker.co[0] * plate.width, (1.0 - marker.co[1]) * plate.height])
    return names, points


def mask_polygon(mask: bpy.types.Mask, plate: ClipPlate) -> np.ndarray:
    """Control points of the active layer's first spline in plate pixels.

    Mask space squeezes the longer image side into [0, 1] around the centre (BKE_mask_coord_from_frame in
    Blender's mask.cc); this undoes that, then flips y."""
    layer = mask.layers.active or mask.layers[0]
    co = np.array([p.co[:] for p in layer.splines[0].points], np.float64)
    w, h = plate.width, plate.height
    if w > h:
        co[:, 1] = (co[:, 1] - 0.5) * (w / h) + 0.5
    elif h > w:
        co[:, 0] = (co[:, 0] - 0.5) * (h / w) + 0.5
    return np.stack([co[:, 0] * w, (1.0 - co[:, 1]) * h], axis=1)


def annotation_polygon(annotation: bpy.types.GreasePencil, plate: ClipPlate, clip_frame: int) -> np.ndarray:
    """The last stroke of the active annotation layer at `clip_frame`, in plate pixels.

    Clip Editor annotations drawn on the footage store clip pixels with the origin bottom-left."""
    layer = annotation.layers.active
    frames = [f for f in layer.frames if f.frame_number <= clip_frame] if layer else []
    if not frames or not frames[-1].strokes:
        raise ValueError("the active annotation layer has no stroke at this frame")
    stroke = max(frames, key=lambda f: f.frame_number).strokes[-1]
    co = np.array([p.co[:2] for p in stroke.points], np.float64)
    return np.stack([co[:, 0], plate.height - co[:, 1]], axis=1)


def points_in_polygon(polygon: np.ndarray, spacing: float, width: int, height: int) -> np.ndarray:
    """Points of a `spacing` grid (half a step in from 0) inside `polygon` ([K, 2] x, y), even-odd rule, vectorised."""
    x0, y0 = np.maximum(polygon.min(axis=0), 0.0)
    x1, y1 = np.minimum(polygon.max(axis=0), [width, height])
    xs = np.arange(np.floor(x0 / spacing) * spacing + spacing / 2, x1, spacing)
    ys = np.arange(np.floor(y0 / spacing) * spacing + spacing / 2, y1, spacing)
    gx, gy = np.meshgrid(xs, ys)
    px, py = gx.ravel()[:, None], gy.ravel()[:, None]
    ax, ay = polygon[:, 0][None, :], polygon[:, 1][None, :]
    bx, by = np.roll(polygon[:, 0], -1)[None, :], np.roll(polygon[:, 1], -1)[None, :]
    crosses = ((ay > py) != (by > py)) & (px < (bx - ax) * (py - ay) / np.where(by == ay, 1e-12, by - ay) + ax)
    inside = np.count_nonzero(crosses, axis=1) % 2 == 1
    return np.stack([px[inside, 0], py[inside, 0]], axis=1)


def region_queries(clip: bpy.types.MovieClip, plate: ClipPlate, clip_frame: int, mask: bpy.types.Mask | None,
                   spacing: float) -> list[list[float]]:
    """Queries on a grid inside the chosen mask, else inside the clip's annotation, at `clip_frame`."""
    if mask is not None:
        polygon = mask_polygon(mask, plate)
    elif clip.grease_pencil is not None:
        polygon = annotation_polygon(clip.grease_pencil, plate, clip_frame)
    else:
        raise ValueError("draw an annotation on the clip or pick a mask to track a region")
    if len(polygon) < 3:
        raise ValueError("the region outline needs at least three points")
    inside = points_in_polygon(polygon, spacing, plate.width, plate.height)
    if len(inside) == 0:
        raise ValueError(f"no point of a {spacing:g} px grid falls inside the region; lower the spacing")
    frame = float(plate.plate_frame(clip_frame))
    return [[frame, float(x), float(y)] for x, y in inside]
