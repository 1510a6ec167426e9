"""Nuke: a pasteable Tracker4 node with every track, a CornerPin2D from four tracks, Import-Ascii text files.

Curves use explicit `x<frame>` markers in plate frame numbers; frames where a point is occluded are left
unkeyed (a new `x<frame>` marker jumps over them), so Nuke interpolates across the gap instead of the track
jumping to a guessed position. Coordinates are Nuke's: origin bottom-left, y up (y_nuke = H - y).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..results.folder import TrackResults
from .common import file_safe, fmt, plate_size, to_bottom_left, write_text

TRACKER4_COLUMNS = (
    "5 1 20 enable e", "3 1 75 name name", "2 1 58 track_x track_x", "2 1 58 track_y track_y",
    "2 1 63 offset_x offset_x", "2 1 63 offset_y offset_y", "4 1 27 T T", "4 1 27 R R", "4 1 27 S S",
    "2 0 45 error error", "1 1 0 error_min error_min", "1 1 0 error_max error_max",
    "1 1 0 pattern_x pattern_x", "1 1 0 pattern_y pattern_y", "1 1 0 pattern_r pattern_r",
    "1 1 0 pattern_t pattern_t", "1 1 0 search_x search_x", "1 1 0 search_y search_y",
    "1 1 0 search_r search_r", "1 1 0 search_t search_t", "2 1 0 key_track key_track",
    "2 1 0 key_search_x key_search_x", "2 1 0 key_search_y key_search_y", "2 1 0 key_search_r key_search_r",
    "2 1 0 key_search_t key_search_t", "2 1 0 key_track_x key_track_x", "2 1 0 key_track_y key_track_y",
    "2 1 0 key_track_r key_track_r", "2 1 0 key_track_t key_track_t",
    "2 1 0 key_centre_offset_x key_centre_offset_x", "2 1 0 key_centre_offset_y key_centre_offset_y",
)
# Box columns 12-19 as Nuke writes a fresh track (pattern and search boxes relative to the centre).
_BOXES = "-32 -32 32 32 -22 -22 22 22"


def nuke_curve(frames: np.ndarray, values: np.ndarray, keyed: np.ndarray) -> str:
    """`{curve x1001 v v x1005 v}`: an `x<frame>` marker opens every run of consecutive keyed frames."""
    parts = ["curve"]
    previous = None
    for frame, value in zip(frames[keyed], values[keyed]):
        if previous is None or frame != previous + 1:
            parts.append(f"x{int(frame)}")
        parts.append(fmt(float(value)))
        previous = frame
    return "{" + " ".join(parts) + "}"


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"').replace("[", "\\[").replace("$", "\\$") + '"'


def tracker4_node(results: TrackResults, node_name: str = "OmniVFX_Tracker") -> str:
    """The Tracker4 node text (no paste header); T is on, R and S off, so it drives a translate match-move."""
    _, height = plate_size(results)
    frames = results.frames
    nuke_xy = to_bottom_left(results.tracks, height)
    first = int(frames[0])
    rows = []
    for name, xy, visible in zip(results.names, nuke_xy, results.visible):
        row = [
            f"{{curve K x{first} 1}}",
            _quote(name),
            nuke_curve(frames, xy[:, 0], visible),
            nuke_curve(frames, xy[:, 1], visible),
            f"{{curve K x{first} 0}}",
            f"{{curve K x{first} 0}}",
            "1 0 0",
            "{}",
            "0 0",
            _BOXES,
        ] + ["{}"] * 11
        rows.append(" { " + " ".join(row) + " }")
    header = "\n".join("{ " + column + " 1 }" for column in TRACKER4_COLUMNS)
    reference = int(results.query_points[0, 0]) if len(results.query_points) else first
    return (
        "Tracker4 {\n"
        f" tracks {{ {{ 1 31 {len(rows)} }}\n{{ {header}\n}}\n{{\n" + "\n".join(rows) + "\n}\n}\n"
        f" reference_frame {reference}\n"
        f" name {node_name}\n"
        " selected true\n"
        "}\n"
    )


def corner_order(points: np.ndarray) -> list[int]:
    """Indices of four Nuke-space (y up) points ordered bottom-left, bottom-right, top-right, top-left."""
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    order = list(np.argsort((angles + np.pi) % (2 * np.pi)))  # counter-clockwise, starting after "left"
    return [int(i) for i in order]


def cornerpin_node(results: TrackResults, corner_names: list[str] | None, reference_frame: int | None = None,
                   node_name: str = "OmniVFX_CornerPin") -> str:
    """A CornerPin2D whose to1..to4 follow four tracks and whose from1..from4 hold them at the reference
    frame, so the pin is the identity there and carries a graphic placed on that frame."""
    if corner_names is None:
        if len(results.names) != 4:
            raise InputError(
                f"the cornerpin export needs four tracks and the results hold {len(results.names)}; "
                "name them with --corners A,B,C,D"
            )
        corner_names = list(results.names)
    if len(corner_names) != 4:
        raise InputError(f"--corners needs exactly four track names, got {len(corner_names)}")
    missing = [n for n in corner_names if n not in results.names]
    if missing:
        raise InputError(f"--corners: no track named {', '.join(missing)}; tracks are {', '.join(results.names[:12])}")
    _, height = plate_size(results)
    index = [results.names.index(n) for n in corner_names]
    ref = reference_frame if reference_frame is not None else int(results.query_points[index[0], 0])
    ref_i = results.frame_index(ref)
    nuke_xy = to_bottom_left(results.tracks[index], height)
    order = corner_order(nuke_xy[:, ref_i])
    lines = ["CornerPin2D {"]
    for slot, corner in enumerate(order, start=1):
        xy, visible = nuke_xy[corner], results.visible[index[corner]]
        x_curve = nuke_curve(results.frames, xy[:, 0], visible)
        y_curve = nuke_curve(results.frames, xy[:, 1], visible)
        lines.append(f" to{slot} {{{x_curve} {y_curve}}}")
    for slot, corner in enumerate(order, start=1):
        x, y = nuke_xy[corner, ref_i]
        lines.append(f" from{slot} {{{fmt(x)} {fmt(y)}}}")
    lines += [f" label \"ref {ref}: {' '.join(corner_names[i] for i in order)}\"", f" name {node_name}",
              " selected true", "}"]
    return "\n".join(lines) + "\n"


def paste_header(version: str = "14.0") -> str:
    """What Nuke's own Copy writes first, so the file pastes into the Node Graph (Ctrl-V) or loads with
    File > Insert Comp Nodes."""
    return f"set cut_paste_input [stack 0]\nversion {version}\npush $cut_paste_input\n"


def write_tracker4(results: TrackResults, path: Path) -> Path:
    return write_text(path, paste_header() + tracker4_node(results))


def write_cornerpin(results: TrackResults, path: Path, corner_names: list[str] | None,
                    reference_frame: int | None = None) -> Path:
    return write_text(path, paste_header() + cornerpin_node(results, corner_names, reference_frame))


def write_import_ascii(results: TrackResults, folder: Path) -> list[Path]:
    """One `frame x y` file per track for Tracker4's File > Import Time+value Ascii; occluded frames absent."""
    _, height = plate_size(results)
    nuke_xy = to_bottom_left(results.tracks, height)
    written, used = [], set()
    for name, xy, visible in zip(results.names, nuke_xy, results.visible):
        stem = file_safe(name)
        while stem in used:
            stem += "_"
        used.add(stem)
        lines = [f"# {name}: frame x y (Nuke pixels, origin bottom-left)"]
        lines += [f"{int(f)} {fmt(x)} {fmt(y)}" for f, (x, y) in zip(results.frames[visible], xy[visible])]
        written.append(write_text(folder / f"{stem}.txt", "\n".join(lines) + "\n"))
    return written
