"""Write a daemon result into the clip: tracks with a marker per frame, an optional plane track and matte.

Markers go through omnimotion_vfx's own Blender writer (vendored `exporters/blender_tracks.py`), the same code
`omnivfx export --format blender` embeds, so the add-on and the exported script agree on every marker.
"""

from __future__ import annotations

import math
import os

import bpy

from .clip_source import ClipPlate
from .vendor.omnimotion_vfx.client import Result
from .vendor.omnimotion_vfx.exporters.blender_tracks import apply_tracks

PLANE_TRACK_NAME = "OmniVFX plane"
MATTE_IMAGE_NAME = "OmniVFX matte"


def write_result(clip: bpy.types.MovieClip, plate: ClipPlate, result: Result, names: list[str] | None,
                 plane_track: bool, load_matte: bool) -> str:
    """Create or update the tracks (named `names`, else the daemon's names); returns the panel's summary."""
    names = names or list(result.names)
    tracks = apply_tracks(clip, names, result.frames.tolist(), result.tracks.tolist(), result.visible.tolist(),
                          plate.width, plate.height, first_frame=plate.first_frame)
    for track in clip.tracking.objects.active.tracks:
        track.select = False
    for track in tracks:
        track.select = True
    hidden = int((~result.visible).sum())
    summary = f"{len(tracks)} tracks over {len(result.frames)} frames ({hidden} occluded markers muted)"
    if plane_track:
        ref_frame = int(result.query_points[0][0]) - plate.first_frame + 1
        summary += "; " + make_plane_track(clip, tracks, ref_frame)
    if load_matte and result.results_dir:
        summary += "; " + load_matte_sequence(result.results_dir)
    return summary


def _clip_editor_area(clip: bpy.types.MovieClip) -> tuple[bpy.types.Area, str]:
    """A Clip Editor showing `clip`: an open one, else the first area switched over (restored by the caller)."""
    screen = bpy.context.window.screen
    for area in screen.areas:
        if area.type == "CLIP_EDITOR" and area.spaces.active.clip == clip:
            return area, area.type
    area = screen.areas[0]
    previous = area.type
    area.type = "CLIP_EDITOR"
    area.spaces.active.clip = clip
    return area, previous


def corner_order(points: list[tuple[float, float]]) -> list[int]:
    """Indices of four y-up points ordered bottom-left, bottom-right, top-right, top-left (counter-clockwise
    from the left), the corner order of Blender's plane markers and of Nuke's CornerPin2D."""
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    angle = [(math.atan2(y - cy, x - cx) + math.pi) % (2 * math.pi) for x, y in points]
    return sorted(range(len(points)), key=angle.__getitem__)


def make_plane_track(clip: bpy.types.MovieClip, tracks: list[bpy.types.MovieTrackingTrack], ref_frame: int) -> str:
    """A plane track whose corners are the four tracks at every frame (occluded ones included: their tracked
    positions go on behind the occluder); the corner order is read at `ref_frame`. Re-running replaces it.

    Blender's Python API cannot create plane tracks, so Create Plane Track makes it (at `ref_frame`: the
    editor's own frame is stale until a redraw, which never comes headless); its corners are then set here."""
    if len(tracks) != 4:
        return f"no plane track (it needs exactly 4 tracks, got {len(tracks)})"
    plane_tracks = clip.tracking.objects.active.plane_tracks
    area, previous = _clip_editor_area(clip)
    try:
        region = next(r for r in area.regions if r.type == "WINDOW")
        with bpy.context.temp_override(area=area, region=region, space_data=area.spaces.active):
            old = plane_tracks.get(PLANE_TRACK_NAME)
            if old is not None:
                for track in tracks:
                    track.select = False
                for plane in plane_tracks:
                    plane.select = plane == old
                bpy.ops.clip.delete_track()
                for track in tracks:
                    track.select = True
            before = set(p.name for p in plane_tracks)
            area.spaces.active.clip_user.frame_current = clip.frame_start + ref_frame - 1
            bpy.ops.clip.create_plane_track()
    finally:
        area.type = previous
    for track in tracks:  # Create Plane Track deselects its tracks; keep the result selected for a re-run
        track.select = True
    created = [p for p in plane_tracks if p.name not in before]
    if not created:
        return "Blender did not create a plane track"
    plane = created[0]
    plane.name = PLANE_TRACK_NAME
    order = corner_order([tuple(t.markers.find_frame(ref_frame, exact=True).co) for t in tracks])
    frames = sorted(set.intersection(*(set(m.frame for m in t.markers) for t in tracks)))
    for frame in frames:
        marker = plane.markers.insert_frame(frame)
        marker.mute = False
        for slot, index in enumerate(order):
            marker.corners[slot] = tracks[index].markers.find_frame(frame, exact=True).co
    for frame in [m.frame for m in plane.markers if m.frame not in set(frames)]:
        plane.markers.delete_frame(frame)
    return f"plane track '{PLANE_TRACK_NAME}'"


def load_matte_sequence(results_dir: str) -> str:
    """The occlusion matte (`omnivfx export RESULTS --format mattes`) as an image sequence for the compositor."""
    folder = os.path.join(results_dir, "export", "mattes")  # the default of `omnivfx export`
    files = sorted(f for f in os.listdir(folder) if f.startswith("matte.") and f.endswith(".exr")) if os.path.isdir(folder) else []
    if not files:
        return f"no matte yet (run `omnivfx export {results_dir} --format mattes`)"
    image = bpy.data.images.get(MATTE_IMAGE_NAME)
    if image is None:
        image = bpy.data.images.load(os.path.join(folder, files[0]), check_existing=False)
        image.name = MATTE_IMAGE_NAME
    else:
        image.filepath = os.path.join(folder, files[0])
    image.source = "SEQUENCE"
    image.colorspace_settings.is_data = True
    return f"matte image '{MATTE_IMAGE_NAME}' ({len(files)} frames)"
