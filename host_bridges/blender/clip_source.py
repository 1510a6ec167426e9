"""Which files a movie clip shows, and how its clip-local frames map to the plate's own frame numbers.

Blender numbers markers in clip frames (clip frame 1 = the clip's first file, shifted by `frame_offset`), the
daemon in plate frames (the digits in the file names; a video's frames count from 1). One `ClipPlate` holds the
mapping so queries go out and tracks come back on the same frames.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import bpy

from .vendor.omnimotion_vfx.exporters.blender_tracks import clip_first_file_frame

LOCAL_ENDPOINTS = ("tcp://127.0.0.1:", "tcp://localhost:", "tcp://[::1]:", "ipc://")


@dataclass(frozen=True)
class ClipPlate:
    path: str  # what the daemon opens: a `%0Nd` pattern, or the movie file
    first_frame: int  # plate frame number shown at clip frame 1
    frame_count: int  # clip frames (clip.frame_duration)
    width: int
    height: int
    is_movie: bool
    plate_first: int  # the plate frames the clip shows that exist on disk (a frame offset can point past them)
    plate_last: int

    @property
    def frame_range(self) -> str:
        return f"{self.plate_first}-{self.plate_last}"

    def plate_frame(self, clip_frame: int) -> int:
        return self.first_frame + int(clip_frame) - 1

    def file(self, plate_frame: int) -> str:
        """The image file of one plate frame (image sequences only)."""
        return self.path % plate_frame


def clip_plate(clip: bpy.types.MovieClip) -> ClipPlate:
    """The plate behind `clip`; file names are made absolute (the daemon needs absolute paths)."""
    path = os.path.normpath(bpy.path.abspath(clip.filepath))
    is_movie = clip.source == "MOVIE"
    if not is_movie:
        folder, name = os.path.split(path)
        match = re.search(r"(\d+)(\.[^.]+)$", name)
        if match is None:
            raise ValueError(f"{name}: an image sequence needs frame numbers at the end of its file names")
        digits = match.group(1)
        pattern = name[: match.start(1)].replace("%", "%%") + f"%0{len(digits)}d" + match.group(2)
        path = os.path.join(folder, pattern)
    width, height = clip.size
    first, count = clip_first_file_frame(clip, 1), int(clip.frame_duration)
    shown = range(first, first + count)
    present = shown if is_movie else [f for f in shown if os.path.isfile(path % f)]
    if not present:
        raise ValueError(f"none of the clip's files exist ({path % first} ...)")
    return ClipPlate(path, first, count, int(width), int(height), is_movie, present[0], present[-1])


def scene_to_clip_frame(clip: bpy.types.MovieClip, scene_frame: int) -> int:
    """Clip-local frame of a scene frame (`clip.frame_start` is the scene frame of clip frame 1)."""
    return int(scene_frame) - int(clip.frame_start) + 1


def daemon_is_local(endpoint: str) -> bool:
    """A loopback or ipc daemon reads the clip's files itself; a remote one may not see them."""
    return endpoint.startswith(LOCAL_ENDPOINTS)
