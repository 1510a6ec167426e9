"""Write tracks into a Blender movie clip: one MovieTrackingTrack per track, one marker per frame.

Plain Python with no imports from this package or numpy, because the generated `tracks.py` script embeds
this file verbatim and the Blender add-on imports it as is. Blender conventions (host_formats.md):
`marker.co = (x / W, 1 - y / H)` for internal pixels (origin top-left, pixel centres at +0.5); marker frames are
clip-local (clip frame 1 shows the clip's first file, shifted by `clip.frame_offset`); an occluded frame is a
muted marker, Blender's own "not visible here". Running it again updates the tracks of the same names.
"""

import os
import re


def clip_first_file_frame(clip, default):
    """Plate frame number of the file the clip shows at clip frame 1 (digits at the end of its file name)."""
    stem = os.path.splitext(os.path.basename(clip.filepath))[0]
    match = re.search(r"(\d+)$", stem)
    first = int(match.group(1)) if match and getattr(clip, "source", "SEQUENCE") == "SEQUENCE" else default
    return first + int(getattr(clip, "frame_offset", 0))


def apply_tracks(clip, names, frames, tracks, visible, width, height, first_frame=None):
    """Create or update one track per name on `clip`'s active tracking object.

    names [N]; frames [T] plate frame numbers; tracks [N][T][2] internal pixels of a `width` x `height` plate;
    visible [N][T]; first_frame: plate frame shown at clip frame 1 (read from the clip's file name by default).
    Returns the tracks. Markers of a re-used track outside the written frames are deleted.
    """
    if first_frame is None:
        first_frame = clip_first_file_frame(clip, int(frames[0]))
    clip_frames = [int(f) - int(first_frame) + 1 for f in frames]
    wanted = set(clip_frames)
    collection = clip.tracking.objects.active.tracks
    written = []
    for name, xy, vis in zip(names, tracks, visible):
        track = collection.get(name)
        if track is None:
            track = collection.new(name=name, frame=clip_frames[0])
        for frame, (x, y), seen in zip(clip_frames, xy, vis):
            co = (float(x) / width, 1.0 - float(y) / height)
            marker = track.markers.insert_frame(frame, co=co)
            marker.co = co  # insert_frame clamps its co argument (1.2 -> 1.0); off-frame points keep their place
            marker.mute = not bool(seen)
        for frame in [m.frame for m in track.markers if m.frame not in wanted]:
            track.markers.delete_frame(frame)
        written.append(track)
    return written
