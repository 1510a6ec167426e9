"""Generate `tracks.py`: a script that runs inside Blender (`blender file.blend --python tracks.py`, or the
Text Editor's Run Script) and writes the tracks into the open movie clip. The data is embedded, so the
script needs nothing but Blender; the marker logic is `blender_tracks.py` copied in verbatim."""

from __future__ import annotations

import json
from pathlib import Path

from ..results.folder import TrackResults
from .common import plate_size, write_text

_MAIN = '''
DATA = json.loads(DATA_JSON)


def find_clip():
    """The clip in the Clip Editor, else the scene's active clip, else the only clip, else load the plate."""
    import bpy

    space = getattr(bpy.context, "space_data", None)
    if space is not None and getattr(space, "type", "") == "CLIP_EDITOR" and space.clip is not None:
        return space.clip
    scene = bpy.context.scene
    if scene is not None and scene.active_clip is not None:
        return scene.active_clip
    if len(bpy.data.movieclips) == 1:
        return bpy.data.movieclips[0]
    if DATA["plate_first_file"] and os.path.exists(DATA["plate_first_file"]):
        clip = bpy.data.movieclips.load(DATA["plate_first_file"])
        if scene is not None:
            scene.active_clip = clip
        return clip
    raise RuntimeError("omnivfx: open the plate in the Clip Editor (or set the scene's active clip) and run again")


def main(clip=None, first_frame=None):
    clip = clip or find_clip()
    tracks = apply_tracks(
        clip, DATA["names"], DATA["frames"], DATA["tracks"], DATA["visible"], DATA["width"], DATA["height"],
        first_frame,
    )
    print(f"omnivfx: {len(tracks)} tracks written to clip {clip.name!r}")
    return tracks


if __name__ == "__main__":
    main()
'''


def blender_script(results: TrackResults, plate_first_file: str | None = None) -> str:
    width, height = plate_size(results)
    data = {
        "names": list(results.names),
        "frames": [int(f) for f in results.frames],
        "tracks": [[[round(float(x), 4), round(float(y), 4)] for x, y in xy] for xy in results.tracks],
        "visible": [[int(v) for v in row] for row in results.visible],
        "width": width,
        "height": height,
        "plate_first_file": plate_first_file or "",
    }
    module = (Path(__file__).with_name("blender_tracks.py")).read_text()
    header = (
        "# omnivfx tracks for Blender: run with `blender FILE.blend --python tracks.py` or from the Text Editor.\n"
        f"# {len(results.names)} tracks, plate frames {int(results.frames[0])}-{int(results.frames[-1])}, "
        f"{width}x{height}. Re-running updates the same tracks.\n"
        "import json\n"
    )
    return header + module + "\n\nDATA_JSON = " + repr(json.dumps(data, separators=(",", ":"))) + "\n" + _MAIN


def write_blender_script(results: TrackResults, path: Path, plate_first_file: str | None = None) -> Path:
    return write_text(path, blender_script(results, plate_first_file))
