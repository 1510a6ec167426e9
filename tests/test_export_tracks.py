"""Track exports parsed back by independent readers and compared with tracks.npz: Nuke Tracker4 (.nk table knob
and curve syntax), CornerPin2D, Import-Ascii, 3DEqualizer points, CSV, JSON; 1001-based frames, occluded gaps."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from export_synthetic import GroundTruthTracker, results_for, write_results_folder
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.exporters import nuke_tracks, text_tracks
from omnimotion_vfx.exporters.registry import parse_formats
from omnimotion_vfx.results import load_results
from omnivfx_cli.main import main

QUERIES = np.array([
    [1001, 12.0, 22.0],   # on the square: always visible
    [1001, 30.0, 30.0],   # background the square slides over: occluded mid-shot
    [1003, 80.5, 10.25],  # background queried on a later frame
    [1001, 70.0, 50.0],
], np.float32)
NAMES = ["square", "wall gap", "late", "corner_4"]


@pytest.fixture(scope="module")
def results():
    tracker = GroundTruthTracker()
    res = results_for(tracker, QUERIES, NAMES)
    assert res.frames[0] == 1001
    assert not res.visible[1].all() and res.visible[1, 0] and res.visible[1, -1], "fixture must have an inner gap"
    return res


def tcl_tokens(text: str) -> list:
    """Nested lists of a Nuke/TCL script: {..} become lists, "..." strings, everything else words."""
    pos, stack = 0, [[]]
    for match in re.finditer(r'\{|\}|"((?:\\.|[^"\\])*)"|[^\s{}"]+', text):
        token = match.group(0)
        if token == "{":
            stack.append([])
        elif token == "}":
            done = stack.pop()
            stack[-1].append(done)
        elif token.startswith('"'):
            stack[-1].append(re.sub(r"\\(.)", r"\1", match.group(1)))
        else:
            stack[-1].append(token)
        pos = match.end()
    assert len(stack) == 1, "unbalanced braces"
    return stack[0]


def read_curve(curve: list) -> dict[int, float]:
    """Nuke curve syntax: `curve [K] x<frame> v v ... x<frame> v`: values fall on consecutive frames."""
    assert curve[0] == "curve"
    keys, frame = {}, None
    for token in curve[1:]:
        if token == "K":
            continue
        if token.startswith("x"):
            frame = int(token[1:])
            continue
        keys[frame] = float(token)
        frame += 1
    return keys


def node_body(tokens: list, node_class: str) -> list:
    return tokens[tokens.index(node_class) + 1]


def knob(body: list, name: str):
    return body[body.index(name) + 1]


def expected_keys(res, n: int, axis: int) -> dict[int, float]:
    _, height = res.resolution
    values = res.tracks[n, :, axis] if axis == 0 else height - res.tracks[n, :, 1]
    return {int(f): float(v) for f, v, seen in zip(res.frames, values, res.visible[n]) if seen}


def assert_keys_equal(got: dict[int, float], want: dict[int, float]) -> None:
    assert sorted(got) == sorted(want)
    np.testing.assert_allclose([got[f] for f in sorted(want)], [want[f] for f in sorted(want)], atol=1e-3)


def test_tracker4_table_knob_round_trips(results, tmp_path):
    path = nuke_tracks.write_tracker4(results, tmp_path / "tracks.nk")
    text = path.read_text()
    assert text.startswith("set cut_paste_input [stack 0]")
    body = node_body(tcl_tokens(text), "Tracker4")
    table = knob(body, "tracks")
    shape, columns, rows = table
    assert shape == ["1", "31", str(len(NAMES))]
    names = [column[4] for column in columns]
    assert len(names) == 31 and names[1:4] == ["name", "track_x", "track_y"] and names[6:9] == ["T", "R", "S"]
    assert len(rows) == len(NAMES)
    for n, row in enumerate(rows):
        assert len(row) == 31
        assert row[names.index("name")] == NAMES[n]
        assert [row[6], row[7], row[8]] == ["1", "0", "0"]
        assert_keys_equal(read_curve(row[names.index("track_x")]), expected_keys(results, n, 0))
        assert_keys_equal(read_curve(row[names.index("track_y")]), expected_keys(results, n, 1))
    gap_x = rows[1][2]
    markers = [int(t[1:]) for t in gap_x[1:] if t.startswith("x")]
    assert markers[0] == 1001 and len(markers) == 2, "an occluded run must be jumped with a second x<frame>"


def test_cornerpin_orders_corners_and_animates(tmp_path):
    # a quad on the background (top-left origin), named so that the given order is scrambled on purpose:
    # the writer sorts into BL, BR, TR, TL (Nuke, y up) at the reference frame
    quad = np.array([[1001, 70, 12], [1001, 20, 10], [1001, 18, 48], [1001, 72, 50]], np.float32)
    results = results_for(GroundTruthTracker(), quad, ["tr", "tl", "bl", "br"])
    path = nuke_tracks.write_cornerpin(results, tmp_path / "cp.nk", ["tl", "br", "tr", "bl"], 1003)
    body = node_body(tcl_tokens(path.read_text()), "CornerPin2D")
    _, height = results.resolution
    ref = results.frame_index(1003)
    froms = np.array([[float(v) for v in knob(body, f"from{i}")] for i in range(1, 5)])
    bl, br, tr, tl = froms
    assert bl[0] < br[0] and tl[0] < tr[0] and bl[1] < tl[1] and br[1] < tr[1]
    assert knob(body, "label").endswith("bl br tr tl")
    for slot, name in enumerate(["bl", "br", "tr", "tl"]):
        n = results.names.index(name)
        np.testing.assert_allclose(froms[slot], [results.tracks[n, ref, 0], height - results.tracks[n, ref, 1]], atol=1e-3)
    for i in range(1, 5):
        x_curve, y_curve = knob(body, f"to{i}")
        n = int(np.argmin(np.abs(results.tracks[:, ref, 0] - froms[i - 1, 0]) + np.abs(height - results.tracks[:, ref, 1] - froms[i - 1, 1])))
        assert_keys_equal(read_curve(x_curve), expected_keys(results, n, 0))
        assert_keys_equal(read_curve(y_curve), expected_keys(results, n, 1))


def test_cornerpin_needs_four_named_tracks(results, tmp_path):
    with pytest.raises(InputError, match="no track named"):
        nuke_tracks.write_cornerpin(results, tmp_path / "cp.nk", ["square", "late", "corner_4", "nope"])
    with pytest.raises(InputError, match="exactly four"):
        nuke_tracks.write_cornerpin(results, tmp_path / "cp.nk", ["square", "late"])


def read_frame_x_y(path: Path) -> dict[int, tuple[float, float]]:
    """What Tracker4's Import Ascii reads: `frame x y`, separators space/comma/colon, # ; / comments."""
    out = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip()[0] in "#;/":
            continue
        frame, x, y = re.split(r"[\s,:]+", line.strip())
        out[int(frame)] = (float(x), float(y))
    return out


def test_import_ascii_one_file_per_track(results, tmp_path):
    paths = nuke_tracks.write_import_ascii(results, tmp_path)
    assert [p.name for p in paths] == ["square.txt", "wall_gap.txt", "late.txt", "corner_4.txt"]
    for n, path in enumerate(paths):
        got = read_frame_x_y(path)
        assert_keys_equal({f: v[0] for f, v in got.items()}, expected_keys(results, n, 0))
        assert_keys_equal({f: v[1] for f, v in got.items()}, expected_keys(results, n, 1))


def read_3de(path: Path) -> dict[str, dict[int, tuple[float, float]]]:
    lines = iter(path.read_text().split("\n"))
    points = {}
    for _ in range(int(next(lines))):
        name, _colour, count = next(lines), int(next(lines)), int(next(lines))
        rows = [next(lines).split() for _ in range(count)]
        points[name] = {int(f): (float(x), float(y)) for f, x, y in rows}
    return points


@pytest.mark.parametrize("first_frame", [1, 1001])
def test_3de_points(results, tmp_path, first_frame):
    points = read_3de(text_tracks.write_3de_points(results, tmp_path / "p.txt", first_frame))
    assert list(points) == ["square", "wall_gap", "late", "corner_4"]
    for n, keys in enumerate(points.values()):
        shift = 1001 - first_frame
        assert_keys_equal({f + shift: v[0] for f, v in keys.items()}, expected_keys(results, n, 0))
        assert_keys_equal({f + shift: v[1] for f, v in keys.items()}, expected_keys(results, n, 1))


def test_csv_and_json_hold_every_frame(results, tmp_path):
    with open(text_tracks.write_csv(results, tmp_path / "t.csv")) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(NAMES) * len(results.frames)
    for row in rows:
        n, t = int(row["track"]), results.frame_index(int(row["frame"]))
        assert row["name"] == NAMES[n] and bool(int(row["visible"])) == results.visible[n, t]
        np.testing.assert_allclose([float(row["x"]), float(row["y"])], results.tracks[n, t], atol=1e-3)
    data = json.loads(text_tracks.write_json(results, tmp_path / "t.json").read_text())
    assert data["frames"] == list(range(1001, 1007)) and [data["width"], data["height"]] == [96, 64]
    np.testing.assert_allclose([t["xy"] for t in data["tracks"]], results.tracks, atol=1e-3)
    assert [t["visible"] for t in data["tracks"]] == results.visible.tolist()
    assert data["tracks"][2]["query"]["frame"] == 1003


def test_visibility_table(results, tmp_path):
    with open(text_tracks.write_visibility_table(results, tmp_path / "v.csv")) as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["frame", *NAMES]
    assert np.array([[int(v) for v in r[1:]] for r in rows[1:]]).T.astype(bool).tolist() == results.visible.tolist()


def test_parse_formats():
    assert parse_formats(("tracks", "qc,nuke")) == ["nuke", "nuke-ascii", "3de", "csv", "json", "blender", "qc"]
    with pytest.raises(InputError, match="unknown export format"):
        parse_formats("maya")


def test_cli_export_writes_track_formats(results, tmp_path):
    folder = write_results_folder(tmp_path / "res", results)
    out = CliRunner().invoke(main, ["export", str(folder), "--format", "tracks,cornerpin", "--corners",
                                    "square,late,corner_4,wall gap"])
    assert out.exit_code == 0, out.output
    export = folder / "export"
    for rel in ("nuke/tracks.nk", "nuke/cornerpin.nk", "nuke/ascii/late.txt", "3de/points.txt", "tracks.csv",
                "tracks.json", "blender/tracks.py"):
        assert (export / rel).is_file(), rel
    reloaded = load_results(folder)
    assert read_3de(export / "3de" / "points.txt")["late"][3] == pytest.approx(
        (reloaded.tracks[2, 2, 0], 64 - reloaded.tracks[2, 2, 1]), abs=1e-3)


def test_cli_export_errors_are_one_line(results, tmp_path):
    folder = write_results_folder(tmp_path / "res", results)
    bad = CliRunner().invoke(main, ["export", str(folder), "--format", "mattes"])
    assert bad.exit_code == 2 and "needs one region" in bad.output and "Traceback" not in bad.output
    missing = CliRunner().invoke(main, ["export", str(tmp_path / "nowhere"), "--format", "nuke"])
    assert missing.exit_code == 2 and "not found" in missing.output


def test_exporters_never_import_torch():
    import subprocess
    import sys

    code = ("import sys, omnimotion_vfx.exporters, omnimotion_vfx.exporters.qc_overlay, omnivfx_cli.export_cmd; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
