"""The Nuke bridge's host-independent modules (no nuke import): Read-node patterns, frame offsets, the
Tracker4 table text and knob index math, checked against omnimotion_vfx's own Nuke exporter."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from omnimotion_vfx.exporters import nuke_tracks
from omnimotion_vfx.results.folder import TrackResults

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host_bridges" / "nuke"))
from omnivfx_nuke import knob_math, plate_pattern, tcl_list  # noqa: E402


@pytest.mark.parametrize("nuke_path, daemon_path", [
    ("/shots/sh010/plate.####.exr", "/shots/sh010/plate.%04d.exr"),
    ("/shots/sh010/plate.%04d.exr", "/shots/sh010/plate.%04d.exr"),
    ("/shots/sh010/plate_#######.dpx", "/shots/sh010/plate_%07d.dpx"),
    ("/shots/sh010/plate.%d.png", "/shots/sh010/plate.%d.png"),
])
def test_frame_tokens_become_printf_patterns(nuke_path, daemon_path):
    assert plate_pattern.to_printf(nuke_path) == daemon_path
    if "%0" in daemon_path:  # a zero-padded pattern survives the round trip through Nuke's #### form
        assert plate_pattern.to_printf(plate_pattern.to_hashes(daemon_path)) == daemon_path


@pytest.mark.parametrize("bad", ["/a/plate.exr", "/a/##/plate.####.exr", "/a/[value root.name].####.exr", "/a/plate.%V.%04d.exr"])
def test_unusable_read_paths_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError):
        plate_pattern.to_printf(bad)


def test_read_frame_offsets():
    assert plate_pattern.frame_offset("start at", "1", 1001) == -1000
    assert plate_pattern.frame_offset("offset", "-1000", 1001) == -1000
    assert plate_pattern.frame_offset("start at", "", 1001) == 0
    plate = plate_pattern.read_plate("/s/p.####.exr", 1001, 1010, "start at", "1", 96, 64)
    assert (plate.pattern, plate.frame_range, plate.script_frame(1003), plate.plate_frame(3)) == ("/s/p.%04d.exr", "1001-1010", 3, 1003)
    with pytest.raises(ValueError):
        plate_pattern.read_plate("relative/p.####.exr", 1, 2, "start at", "", 8, 8)
    with pytest.raises(ValueError):
        plate_pattern.frame_offset("offset", "frame+1", 1)


def exporter_results(names: list[str]) -> TrackResults:
    frames = np.arange(1001, 1006, dtype=np.int32)
    tracks = np.random.default_rng(0).uniform(0, 64, (len(names), 5, 2)).astype(np.float32)
    visible = np.ones((len(names), 5), bool)
    visible[0, 2] = False
    query = np.array([[1001, *tracks[i, 0]] for i in range(len(names))], np.float32)
    return TrackResults(frames, query, tracks, visible, names, {"resolution": [64, 64]})


def test_track_names_are_read_from_the_tracker4_table_text():
    names = ['fence "left"', "roof", "track 3"]
    node = nuke_tracks.tracker4_node(exporter_results(names))
    table = node[node.index("tracks ") + len("tracks "): node.index(" reference_frame")]
    assert tcl_list.tracker_track_names(table) == names
    assert tcl_list.tracker_track_names("{ { 1 31 0 } { } { } }") == []
    with pytest.raises(ValueError):
        tcl_list.parse("{ 1 31 {")


def test_knob_indices_match_the_exporters_column_table():
    columns = [c.split()[3] for c in nuke_tracks.TRACKER4_COLUMNS]
    for name, column in knob_math.COLUMN.items():
        assert columns[column] == {"enable": "enable"}.get(name, name)
    assert len(columns) == knob_math.TRACK_COLUMNS
    assert knob_math.track_index(2, "track_y") == 2 * 31 + 3


@pytest.mark.parametrize("seed", range(5))
def test_corner_order_matches_the_exporter(seed):
    points = np.random.default_rng(seed).uniform(0, 100, (4, 2))
    assert knob_math.corner_order([tuple(p) for p in points]) == nuke_tracks.corner_order(points)
    assert knob_math.to_nuke(10.0, 15.0, 64) == (10.0, 49.0)
