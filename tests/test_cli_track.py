"""`omnivfx track` end to end through the installed command: the results contract, progress, proxy, inputs."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from plate_factory import to_linear, translating_frames, write_image, write_plate, write_video

from omnivfx_cli.main import main

STEP = np.float32([2.0, 1.0])  # the test plates' texture motion per frame (dx, dy)


def _interior_points_csv(path: Path, frame: int = 1001) -> Path:
    path.write_text("frame,x,y,name\n" + "".join(f"{frame},{x},{y},p{x}_{y}\n" for x in (30.5, 48.0, 60.25) for y in (24.5, 33.0)))
    return path


def _expected(query_points: np.ndarray, frames: np.ndarray) -> np.ndarray:
    offsets = (frames[None, :, None] - query_points[:, None, :1]) * STEP
    return query_points[:, None, 1:] + offsets


def test_half_float_exr_1001_plate_gives_the_contract_results(run_omnivfx, exr_plate_1001, tmp_path):
    queries = _interior_points_csv(tmp_path / "points.csv")
    result = run_omnivfx("track", exr_plate_1001, "--queries", queries, "--tracker", "chained-flow")
    assert result.returncode == 0, result.stderr
    # not a terminal: no bar, a few plain lines per stage (tests/test_progress_display.py), and no warning
    assert "\r" not in result.stderr and "warning" not in result.stderr
    assert all(line.startswith(("omnivfx: read: ", "omnivfx: flow: ", "omnivfx: queries: ")) for line in result.stderr.splitlines())
    folder = Path(result.stdout.strip())
    assert result.stdout.count("\n") == 1 and folder.is_absolute()
    assert folder == tmp_path / "omnivfx" / "shot_plate"  # ./omnivfx/<plate folder name>_<plate name>/

    with np.load(folder / "tracks.npz") as data:
        assert {"frames", "query_points", "tracks", "visible"} <= set(data.files)
        frames, query_points, tracks, visible = data["frames"], data["query_points"], data["tracks"], data["visible"]
    assert frames.dtype == np.int32 and frames.tolist() == list(range(1001, 1011))
    assert query_points.dtype == np.float32 and query_points.shape == (6, 3)
    np.testing.assert_array_equal(query_points[:, 0], 1001)
    assert tracks.dtype == np.float32 and tracks.shape == (6, 10, 2)
    assert visible.dtype == bool and visible.shape == (6, 10)
    np.testing.assert_allclose(tracks, _expected(query_points, frames), atol=0.5)

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "omnivfx-results" and manifest["format_version"] == 1
    assert manifest["plate"] == exr_plate_1001 and os.path.isabs(manifest["plate"])
    assert manifest["frame_range"] == [1001, 1010] and manifest["frame_count"] == 10
    assert manifest["resolution"] == [96, 64] and manifest["processing_resolution"] == [96, 64]
    assert manifest["preset"] == "default" and manifest["tracker"] == "chained-flow"
    assert manifest["config"]["job"]["queries"] == str(queries) and isinstance(manifest["config"]["tracker"], dict)
    assert {"read", "fit", "query", "total"} <= set(manifest["timings"])
    assert manifest["software"]["name"] == "omnimotion_vfx" and manifest["software"]["version"]
    assert "fallback" in manifest["colour"]


def test_json_progress_lines_then_the_result(run_omnivfx, exr_plate_1001, tmp_path):
    result = run_omnivfx("track", exr_plate_1001, "--grid", "3", "--json-progress", "--out", tmp_path / "res", "--tracker", "chained-flow")
    assert result.returncode == 0 and result.stderr == ""
    events = [json.loads(line) for line in result.stdout.splitlines()]
    *progress, final = events
    assert final == {"result": str((tmp_path / "res").resolve())}
    assert progress and all({"stage", "step", "total", "eta"} <= set(e) for e in progress)
    assert {e["stage"] for e in progress} >= {"read"}
    assert all(isinstance(e["step"], int) and isinstance(e["total"], int) and 0 <= e["step"] <= e["total"] for e in progress)
    assert all(e["eta"] is None or e["eta"] >= 0 for e in progress)
    assert {"read", "flow", "queries"} <= {e["stage"] for e in progress}  # answering the queries is a stage too
    queries = [e for e in progress if e["stage"] == "queries"]
    assert queries[0]["step"] == 0 and queries[-1]["step"] == queries[-1]["total"] == 9 and queries[-1].get("done")
    assert all("eta_total" in e for e in progress) and any(e["eta_total"] is not None for e in progress)
    with np.load(tmp_path / "res" / "tracks.npz") as data:
        assert data["tracks"].shape == (9, 10, 2)


def test_a_log_gets_a_few_lines_and_no_bar(tmp_path):
    """stderr to a file, as on a farm: a 40-frame track is a handful of lines, each stage started and done."""
    pattern = write_plate(tmp_path / "shot", count=40, size=(128, 96))
    with open(tmp_path / "track.log", "w") as log:
        done = subprocess.run([str(Path(sys.executable).parent / "omnivfx"), "track", pattern, "--grid", "12", "--out",
                               str(tmp_path / "r"), "--tracker", "chained-flow"], stdout=subprocess.PIPE, stderr=log,
                              text=True, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"), timeout=120)
    assert done.returncode == 0
    text = (tmp_path / "track.log").read_text()
    lines = text.splitlines()
    assert "\r" not in text and 6 <= len(lines) < 40, text
    for stage in ("read", "flow", "queries"):
        assert f"omnivfx: {stage}: started, " in text and f"omnivfx: {stage}: done, " in text
    assert "omnivfx: queries: started, 144 steps" in lines


def test_progress_bar_on_stderr_at_a_terminal(exr_plate_1001, tmp_path):
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a real terminal has a width
    command = [str(Path(sys.executable).parent / "omnivfx"), "track", exr_plate_1001, "--grid", "2", "--out", str(tmp_path / "r"),
               "--tracker", "chained-flow"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=secondary, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    stdout = proc.communicate(timeout=60)[0].decode()
    os.close(primary)
    terminal = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "read: 100%" in terminal and "10/10" in terminal
    assert stdout.strip() == str((tmp_path / "r").resolve())


def test_proxy_half_reports_full_resolution_coordinates(run_omnivfx, tmp_path):
    pattern = write_plate(tmp_path / "shot", count=8, size=(160, 120), step=(2.0, 1.0))
    (tmp_path / "q.csv").write_text("frame,x,y\n" + "".join(f"1001,{x},{y}\n" for x in (50.5, 80.0, 110.5) for y in (40.5, 70.0)))
    tracks = {}
    for proxy in ("1.0", "0.5"):
        out = tmp_path / f"proxy{proxy}"
        result = run_omnivfx("track", pattern, "--queries", tmp_path / "q.csv", "--proxy", proxy, "--out", out, "--tracker", "chained-flow")
        assert result.returncode == 0, result.stderr
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["resolution"] == [160, 120] and manifest["proxy"] == float(proxy)
        with np.load(out / "tracks.npz") as data:
            tracks[proxy] = data["tracks"]
            expected = _expected(data["query_points"], data["frames"])
    assert json.loads((tmp_path / "proxy0.5" / "manifest.json").read_text())["processing_resolution"] == [80, 60]
    assert np.abs(tracks["1.0"] - expected).max() < 0.5
    assert np.abs(tracks["0.5"] - expected).mean() < 0.5  # full-resolution pixels, not half
    assert np.abs(tracks["0.5"] - tracks["1.0"]).mean() < 0.5


def test_frames_option_and_layer_and_ocio(run_omnivfx, tmp_path):
    """A multi-layer EXR: plain RGB is flat (untrackable), the 'beauty' layer holds the moving texture."""
    frames = translating_frames(8, (96, 64), tuple(STEP))
    for i, frame in enumerate(frames):
        stacked = np.concatenate([np.full((64, 96, 3), 0.5, np.float32), to_linear(frame)], axis=-1)
        names = ["R", "G", "B", "beauty.R", "beauty.G", "beauty.B"]
        write_image(tmp_path / f"aov.{1001 + i}.exr", stacked, "half", names)
    out = tmp_path / "res"
    result = run_omnivfx(
        "track", tmp_path / "aov.####.exr", "--frames", "1003-1007", "--layer", "beauty", "--tracker", "chained-flow",
        "--colorspace", "ocio://default:ACEScg", "--grid", "2", "--out", out,
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["frame_range"] == [1003, 1007] and manifest["layer"] == "beauty"
    assert manifest["colour"].startswith("OCIO ocio://default: ACEScg ->")
    with np.load(out / "tracks.npz") as data:
        assert data["frames"].tolist() == [1003, 1004, 1005, 1006, 1007]
        np.testing.assert_array_equal(data["query_points"][:, 0], 1003)
        moved = data["tracks"][:, -1] - data["tracks"][:, 0]
    np.testing.assert_allclose(moved, np.tile(4 * STEP, (4, 1)), atol=0.5)


@pytest.mark.parametrize("kind", ["folder_png", "mp4"])
def test_folder_of_frames_and_video_files(run_omnivfx, tmp_path, kind):
    if kind == "mp4":
        plate = write_video(tmp_path / "clip.mp4", count=8)
        first = 1
    else:
        write_plate(tmp_path / "pngs", count=8, extension="png", pixel_type="uint8")
        plate, first = tmp_path / "pngs", 1001
    result = run_omnivfx("track", plate, "--grid", "2", "--tracker", "chained-flow")
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip())
    assert folder.parent == tmp_path / "omnivfx" and folder.name == (f"{tmp_path.name}_clip" if kind == "mp4" else "pngs_plate")
    with np.load(folder / "tracks.npz") as data:
        assert data["frames"].tolist() == list(range(first, first + 8))
        moved = data["tracks"][:, -1] - data["tracks"][:, 0]
    np.testing.assert_allclose(moved, np.tile(7 * STEP, (4, 1)), atol=1.0)


def test_internal_error_exits_1_with_the_log_path(monkeypatch, exr_plate_1001, tmp_path):
    def broken(*_args, **_kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("omnimotion_vfx.job_runner.fit_job", broken)
    monkeypatch.setenv("OMNIVFX_LOG_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["track", exr_plate_1001, "--grid", "2", "--tracker", "chained-flow"])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("omnivfx: internal error: RuntimeError: simulated bug (traceback in ")
    log = Path(line.rsplit("traceback in ", 1)[1].rstrip(")"))
    assert log.parent == tmp_path and "Traceback" in log.read_text() and "simulated bug" in log.read_text()


def test_sigterm_exits_3_and_the_same_command_then_finishes(tmp_path):
    pattern = write_plate(tmp_path / "shot", count=40, size=(128, 96))
    command = [str(Path(sys.executable).parent / "omnivfx"), "track", pattern, "--grid", "2", "--json-progress", "--out", str(tmp_path / "r"),
               "--tracker", "chained-flow"]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = json.loads(proc.stdout.readline())  # the run is inside its signal handlers once progress flows
    assert first["stage"] == "read"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stderr
    assert len(stderr.splitlines()) == 1 and stderr.startswith("omnivfx: interrupted: received SIGTERM")
    assert "result" not in stdout and not (tmp_path / "r" / "manifest.json").exists()
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1]) == {"result": str((tmp_path / "r").resolve())}
