"""Every bad input through the real `omnivfx` process: exit 2, exactly one error line on stderr, last (after the
progress lines of the stages that ran, stderr not being a terminal), no traceback."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from plate_factory import to_linear, translating_frames, truncate, write_image, write_plate


def one_error_line(result, code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    *progress, last = result.stderr.splitlines()
    assert all(_is_progress(line) for line in progress), result.stderr
    assert "Traceback" not in result.stderr
    assert last.startswith("omnivfx: error: ")
    return last


def _is_progress(line: str) -> bool:
    """A log line of `LogProgress`: `omnivfx: STAGE: started, ...`, `...: done, ...` or `...: STEP/TOTAL ...`."""
    stage, _, rest = line.removeprefix("omnivfx: ").partition(": ")
    return line.startswith("omnivfx: ") and stage in ("read", "flow", "fit", "queries") and bool(rest)


@pytest.fixture
def small_plate(tmp_path) -> str:
    """Six 32x24 half EXR frames 1001-1006: the smallest plate the checks need."""
    return write_plate(tmp_path / "shot", count=6, size=(32, 24))


def _csv(tmp_path, text: str) -> str:
    path = tmp_path / "points.csv"
    path.write_text(text)
    return str(path)


def test_pattern_matching_nothing(run_omnivfx, tmp_path):
    line = one_error_line(run_omnivfx("track", tmp_path / "nope.%04d.exr", "--grid", "2"))
    assert "no files match" in line and "nope.%04d.exr" in line


def test_gap_lists_the_missing_frames(run_omnivfx, small_plate, tmp_path):
    os.remove(tmp_path / "shot" / "plate.1003.exr")
    os.remove(tmp_path / "shot" / "plate.1004.exr")
    line = one_error_line(run_omnivfx("track", small_plate, "--grid", "2"))
    assert "missing frames 1003-1004" in line


def test_frames_of_different_sizes(run_omnivfx, small_plate, tmp_path):
    write_image(tmp_path / "shot" / "plate.1005.exr", np.zeros((20, 30, 3), np.float32))
    line = one_error_line(run_omnivfx("track", small_plate, "--grid", "2"))
    assert "frame 1005" in line and "30x20" in line and "32x24" in line


def test_file_with_a_broken_header_is_named(run_omnivfx, small_plate, tmp_path):
    truncate(tmp_path / "shot" / "plate.1002.exr", 0.05)
    line = one_error_line(run_omnivfx("track", small_plate, "--grid", "2"))
    assert "plate.1002.exr" in line


@pytest.mark.parametrize("extension,pixel_type", [("exr", "half"), ("png", "uint8")])
def test_truncated_frame_deep_in_the_sequence_fails_mid_run_with_one_line(run_omnivfx, tmp_path, extension, pixel_type):
    pattern = write_plate(tmp_path / "shot", count=8, size=(64, 160), extension=extension, pixel_type=pixel_type)
    truncate(tmp_path / "shot" / f"plate.1007.{extension}", 0.5)  # header intact: only reading pixels fails
    result = run_omnivfx("track", pattern, "--grid", "2", "--json-progress")
    line = one_error_line(result)
    assert f"plate.1007.{extension}" in line
    events = [json.loads(text) for text in result.stdout.splitlines()]
    assert [e["stage"] for e in events] == ["read"]  # headers passed; the failure came while reading pixels


def test_nan_pixels_are_a_warning_not_an_error(run_omnivfx, tmp_path):
    pattern = write_plate(tmp_path / "shot", count=4, size=(32, 24), pixel_type="float")
    for frame in (1002, 1004):
        pixels = to_linear(translating_frames(4, (32, 24), (2.0, 1.0))[frame - 1001])
        pixels[5:7, 5:7] = np.nan
        write_image(tmp_path / "shot" / f"plate.{frame}.exr", pixels, "float")
    result = run_omnivfx("track", pattern, "--grid", "2", "--tracker", "chained-flow")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if not _is_progress(line)]
    assert lines == [f"omnivfx: warning: NaN/Inf pixels replaced by 0 in frames 1002,1004 of {pattern}"]


def test_one_frame_plate(run_omnivfx, tmp_path):
    pattern = write_plate(tmp_path / "shot", count=1, size=(32, 24))
    line = one_error_line(run_omnivfx("track", pattern, "--grid", "2"))
    assert "only one frame (1001)" in line


def test_query_outside_the_image_names_the_line(run_omnivfx, small_plate, tmp_path):
    csv = _csv(tmp_path, "frame,x,y\n1001,10,10\n1002,40.5,3\n")
    line = one_error_line(run_omnivfx("track", small_plate, "--queries", csv))
    assert "points.csv line 3" in line and "(40.5, 3) is outside the 32x24 image" in line


def test_query_outside_the_frame_range_names_the_line(run_omnivfx, small_plate, tmp_path):
    csv = _csv(tmp_path, "frame,x,y,name\n# comment lines are skipped\n1001,10,10,a\n\n1, 5, 5,b\n")
    line = one_error_line(run_omnivfx("track", small_plate, "--queries", csv))
    assert "points.csv line 5" in line and "frame 1 is outside the plate's frames 1001-1006" in line


def test_unknown_layer_lists_the_layers_there(run_omnivfx, tmp_path):
    channels = ["R", "G", "B", "beauty.R", "beauty.G", "beauty.B", "depth.Z"]
    for frame in (1001, 1002):
        write_image(tmp_path / f"aov.{frame}.exr", np.zeros((8, 8, 7), np.float32), "half", channels)
    line = one_error_line(run_omnivfx("track", tmp_path / "aov.####.exr", "--grid", "2", "--layer", "spec"))
    assert "no layer 'spec'; layers there: beauty, depth" in line


@pytest.mark.parametrize(
    "text,expected",
    [
        ("x,y,frame\n1,2,3\n", "line 1: first line must be the header frame,x,y"),
        ("frame,x,y\n1001,abc,4\n", "line 2: expected frame,x,y numbers, found '1001,abc,4'"),
        ("frame,x,y\n1001,4\n", "line 2: expected frame,x,y numbers"),
        ("frame,x,y\n1001,nan,4\n", "line 2: frame, x and y must be finite numbers"),
        ("frame,x,y\n", "has no query rows"),
        ("", "is empty"),
    ],
)
def test_malformed_csv(run_omnivfx, small_plate, tmp_path, text, expected):
    line = one_error_line(run_omnivfx("track", small_plate, "--queries", _csv(tmp_path, text)))
    assert expected in line


def test_missing_query_file(run_omnivfx, small_plate, tmp_path):
    line = one_error_line(run_omnivfx("track", small_plate, "--queries", tmp_path / "absent.csv"))
    assert "cannot open query file" in line and "absent.csv" in line


@pytest.mark.parametrize("override, expected", [({"fusion.reacquire_spacing_px": 0}, "fusion.reacquire_spacing_px must be above 0"),
                                                ({"fusion.reacquire_ncc": 2}, "fusion.reacquire_ncc is a correlation"),
                                                ({"inference.refine_visibility": "eyes"}, "fusion.refine_visibility must be"),
                                                ({"fusion.refine_smoothnes": 2.0}, "unknown fusion setting 'fusion.refine_smoothnes'"),
                                                ({"trainer.steps": "many"}, "'trainer.steps' takes a whole number"),
                                                ({"sampler.error_fraction": 2}, "error_fraction is a share of the pixels"),
                                                ({"trainer.decay": 0}, "trainer.decay multiplies the learning rate")])
def test_out_of_range_engine_setting_fails_before_the_fit(run_omnivfx, small_plate, override, expected):
    result = run_omnivfx("track", small_plate, "--grid", "2", "--preset", "test",
                         env={"OMNIVFX_ENGINE_OVERRIDES": json.dumps(override)})
    assert expected in one_error_line(result)


@pytest.mark.parametrize("frames", ["abc", "1001-", "1001-1003x"])
def test_bad_frames_syntax(run_omnivfx, small_plate, frames):
    line = one_error_line(run_omnivfx("track", small_plate, "--grid", "2", "--frames", frames))
    assert f"--frames {frames!r} is not a frame range" in line


@pytest.mark.parametrize("proxy", ["0", "1.5", "-1"])
def test_proxy_out_of_range(run_omnivfx, small_plate, proxy):
    line = one_error_line(run_omnivfx("track", small_plate, "--grid", "2", "--proxy", proxy))
    assert "must be in (0, 1]" in line


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--grid", "x"], "Invalid value for '--grid'"),
        (["--proxy", "half"], "Invalid value for '--proxy'"),
        (["--grid", "0"], "--grid 0 must be at least 1"),
        (["--no-such-option"], "No such option '--no-such-option'"),
        (["--grid", "2", "--queries", "points.csv"], "give only one of --queries, --grid"),
        (["--grid", "2", "--tracker", "nope"], "unknown tracker 'nope'"),
    ],
)
def test_usage_mistakes(run_omnivfx, small_plate, tmp_path, args, expected):
    _csv(tmp_path, "frame,x,y\n1001,1,1\n")
    line = one_error_line(run_omnivfx("track", small_plate, *args))
    assert expected in line


def test_missing_plate_argument(run_omnivfx):
    assert "missing PLATE" in one_error_line(run_omnivfx("track", "--grid", "2"))


def test_info_on_nothing(run_omnivfx, tmp_path):
    assert "no files match" in one_error_line(run_omnivfx("info", tmp_path / "none.####.exr"))


def test_layer_on_rgb_only_exr_lists_what_is_there(run_omnivfx, small_plate):
    line = one_error_line(run_omnivfx("track", small_plate, "--grid", "2", "--layer", "beauty"))
    assert "no layer 'beauty'; layers there: none (only R,G,B)" in line


def test_a_folder_with_two_sequences_asks_for_one(run_omnivfx, small_plate, tmp_path):
    for frame in (1, 2):
        shutil.copy(tmp_path / "shot" / "plate.1001.exr", tmp_path / "shot" / f"other.{frame:04d}.exr")
    line = one_error_line(run_omnivfx("track", tmp_path / "shot", "--grid", "2"))
    assert "holds several sequences" in line
