"""One job schema at every edge: the commands' options, the daemon's checks and the client's arguments come from
`TrackJob`; checks that need no pixels (export formats, presets, frame range) fail before any tracking; query
points with a bottom-left origin are flipped at read time."""

from __future__ import annotations

import dataclasses
import json
import time

import click
import numpy as np
import pytest
from omnivfx_cli.main import main as cli_main
from plate_factory import write_plate

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.tracking.job_schema import JOB_FIELDS, TrackJob, check_job_fields


def _options(command: str) -> dict[str, click.Option]:
    return {p.name: p for p in cli_main.commands[command].params if isinstance(p, click.Option)}


def test_every_job_field_is_an_option_of_track_and_submit_and_pin_takes_the_plate_settings():
    fields = [f.name for f in dataclasses.fields(TrackJob)]
    inline_only = {name for name in fields if not JOB_FIELDS[name].commands}
    assert inline_only == {"query_points", "query_names"}  # data only the client sends; every other field is an option
    for command in ("track", "submit"):
        options = _options(command)
        for name in set(fields) - inline_only - {"plate"}:
            assert name in options, f"{command} has no option for TrackJob.{name}"
            assert options[name].opts == [JOB_FIELDS[name].flag] or JOB_FIELDS[name].kind == "bool"
    pin = _options("pin")
    for name in ("frames", "tracker", "preset", "device", "layer", "colorspace", "proxy"):
        assert name in pin
    assert list(_options("track")["origin"].type.choices) == ["top-left", "bottom-left"]


def test_the_check_names_every_bad_field_in_one_line():
    with pytest.raises(InputError) as caught:
        check_job_fields({"plate": "/p.%04d.exr", "proxy": 2, "grid": "8", "origin": "up", "colour": "x"})
    message = str(caught.value)
    assert "\n" not in message
    for name in ("proxy", "grid", "origin", "colour"):
        assert name in message
    check_job_fields({"plate": "/p.%04d.exr", "proxy": 0.5, "grid": 8, "origin": "bottom-left"})


@pytest.fixture
def plate(tmp_path) -> str:
    return write_plate(tmp_path / "shot", count=36, first=1001, extension="png", pixel_type="uint8")


def _one_line(result) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _stages(stdout: str) -> set[str]:
    """The stages a `--json-progress` run reported."""
    return {json.loads(line).get("stage") for line in stdout.splitlines() if line.startswith("{")} - {None}


def test_export_formats_fail_before_tracking(run_omnivfx, plate, tmp_path):
    out = tmp_path / "res"
    tracked = run_omnivfx("track", plate, "--grid", "2", "--tracker", "chained-flow", "--export", "nuke,csv", "--out", out,
                          "--json-progress")
    assert tracked.returncode == 0, tracked.stderr
    assert {p.suffix for p in (out / "export").rglob("*.*")} >= {".nk", ".csv"}
    assert "read" in _stages(tracked.stdout), "a run that tracks reports reading the plate"
    refused = tmp_path / "refused"
    for formats, expected in (("mattes", "omnivfx export RESULTS --format mattes --region-polygon"),
                              ("nuke,bogus", "unknown export format bogus")):
        started = time.monotonic()
        done = run_omnivfx("track", plate, "--grid", "2", "--tracker", "chained-flow", "--export", formats,
                           "--out", refused, "--json-progress")
        assert expected in _one_line(done)
        # the command starts, checks and stops: no plate read, no flow, no results folder (the time bound is only
        # a backstop far above an interpreter start on a loaded machine, not a measure of the check)
        assert "read" not in _stages(done.stdout) and not refused.exists()
        assert time.monotonic() - started < 90


def test_frames_outside_the_plate_name_its_real_range(run_omnivfx, plate):
    line = _one_line(run_omnivfx("track", plate, "--frames", "2000-2010", "--grid", "2", "--tracker", "chained-flow"))
    assert line.endswith("--frames 2000-2010 is outside the plate (1001-1036); pass --frames 1001-1036 or a part of it")


def test_unknown_preset_is_refused_for_every_tracker(run_omnivfx, plate, tmp_path):
    line = _one_line(run_omnivfx("track", plate, "--grid", "2", "--tracker", "chained-flow", "--preset", "fastest",
                                 "--out", tmp_path / "res"))
    assert "--preset fastest is not a preset of the chained-flow tracker; choose one of default" in line
    line = _one_line(run_omnivfx("track", plate, "--grid", "2", "--preset", "fastest", "--out", tmp_path / "res"))
    assert "of the omnimotion tracker" in line and "volumetric" in line
    assert not (tmp_path / "res").exists()


def test_bottom_left_origin_tracks_the_same_points_as_the_flipped_csv(run_omnivfx, plate, tmp_path):
    height = 64
    rows = [(1001, 20.5, 10.5), (1005, 40.25, 30.75), (1010, 60.5, 50.5)]
    top = tmp_path / "top.csv"
    top.write_text("frame,x,y\n" + "".join(f"{f},{x},{y}\n" for f, x, y in rows))
    bottom = tmp_path / "bottom.csv"
    bottom.write_text("frame,x,y\n" + "".join(f"{f},{x},{height - y}\n" for f, x, y in rows))
    common = ("--tracker", "chained-flow", "--frames", "1001-1012")
    a = run_omnivfx("track", plate, "--queries", top, "--out", tmp_path / "a", *common)
    b = run_omnivfx("track", plate, "--queries", bottom, "--origin", "bottom-left", "--out", tmp_path / "b", *common)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    with np.load(tmp_path / "a" / "tracks.npz") as first, np.load(tmp_path / "b" / "tracks.npz") as second:
        np.testing.assert_array_equal(first["query_points"], second["query_points"])  # the flip is exact
        np.testing.assert_array_equal(first["tracks"], second["tracks"])
        np.testing.assert_allclose(first["query_points"][:, 2], [y for _, _, y in rows])
    wrong = run_omnivfx("track", plate, "--queries", bottom, "--origin", "bottom-right", *common)
    assert wrong.returncode == 2 and "bottom-right" in wrong.stderr


def test_the_bridges_fallback_menu_is_the_registry():
    from omnimotion_vfx.client import FALLBACK_TRACKERS
    from omnimotion_vfx.tracking import registry

    shipped = {name for name in registry.tracker_names()
               if registry._REGISTRY[name].__module__ == "omnimotion_vfx.tracking.builtin"}  # not tests' trackers
    assert FALLBACK_TRACKERS == {name: {"presets": registry.tracker_presets(name)} for name in sorted(shipped)}
