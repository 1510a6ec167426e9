"""Nodes from a daemon result: a Tracker4 with every track, a CornerPin2D from four tracks, Read nodes for the
results folder's mattes and STMaps. Main thread only (the panel calls these through executeInMainThread).

Keys sit on script frames (plate frame + the Read node's offset), in Nuke pixels (y up). Occluded frames get no
key, as in `omnivfx export --format nuke`, so Nuke interpolates across the gap.
"""

from __future__ import annotations

import os

import nuke

from .knob_math import corner_order, to_nuke, track_index
from .plate_pattern import ReadPlate, to_hashes

# Where `omnivfx export RESULTS --format mattes,stmap` writes by default (RESULTS/export/).
DENSE_SEQUENCES = (("export/mattes", "matte.%04d.exr"), ("export/stmap", "stmap.%04d.exr"))


def create_tracker(result, plate: ReadPlate, names: list[str]) -> "nuke.Node":
    """A Tracker4 whose track i follows result track i (translate on, rotate/scale off)."""
    tracker = nuke.createNode("Tracker4", "", False)
    table = tracker["tracks"]
    for track, (xy, visible) in enumerate(zip(result.tracks.tolist(), result.visible.tolist())):
        tracker["add_track"].execute()
        ix, iy = track_index(track, "track_x"), track_index(track, "track_y")
        table.setAnimated(ix)
        table.setAnimated(iy)
        for frame, (x, y), seen in zip(result.frames.tolist(), xy, visible):
            if seen:
                nx, ny = to_nuke(x, y, plate.height)
                table.setValueAt(nx, plate.script_frame(frame), ix)
                table.setValueAt(ny, plate.script_frame(frame), iy)
        table.setValue(1, track_index(track, "T"))
        table.setValue(0, track_index(track, "R"))
        table.setValue(0, track_index(track, "S"))
    tracker["reference_frame"].setValue(plate.script_frame(int(result.query_points[0][0])))
    tracker["label"].setValue("OmniVFX: " + " ".join(names[:8]) + (" ..." if len(names) > 8 else ""))
    return tracker


def create_cornerpin(result, plate: ReadPlate) -> "nuke.Node":
    """A CornerPin2D whose to1..to4 follow the four tracks and whose from1..from4 hold them at the reference
    frame (the identity there), like `omnivfx export --format cornerpin`."""
    if len(result.tracks) != 4:
        raise ValueError(f"a CornerPin2D needs exactly four tracks, the result has {len(result.tracks)}")
    ref_frame = int(result.query_points[0][0])
    frames = result.frames.tolist()
    ref_i = frames.index(ref_frame)
    tracks = [[to_nuke(x, y, plate.height) for x, y in xy] for xy in result.tracks.tolist()]
    visible = result.visible.tolist()
    pin = nuke.createNode("CornerPin2D", "", False)
    for slot, corner in enumerate(corner_order([t[ref_i] for t in tracks]), start=1):
        to_knob = pin[f"to{slot}"]
        to_knob.setAnimated()
        for frame, (x, y), seen in zip(frames, tracks[corner], visible[corner]):
            if seen:
                to_knob.setValueAt(x, plate.script_frame(frame), 0)
                to_knob.setValueAt(y, plate.script_frame(frame), 1)
        pin[f"from{slot}"].setValue(list(tracks[corner][ref_i]))
    pin["label"].setValue(f"OmniVFX ref {plate.script_frame(ref_frame)}")
    return pin


def create_dense_reads(results_dir: str, plate: ReadPlate) -> list["nuke.Node"]:
    """Read nodes (raw data) for the mattes/STMaps `omnivfx export` wrote into RESULTS/export/, if any."""
    reads = []
    for folder, pattern in DENSE_SEQUENCES:
        path = os.path.join(results_dir, folder, pattern)
        if not os.path.isfile(path % plate.first):
            continue
        read = nuke.createNode("Read", "", False)
        read["file"].setValue(to_hashes(path))
        read["first"].setValue(plate.first)
        read["last"].setValue(plate.last)
        read["raw"].setValue(True)
        if plate.offset:
            read["frame_mode"].setValue("offset")
            read["frame"].setValue(str(plate.offset))
        reads.append(read)
    return reads
