"""The Blender add-on in real headless Blender (bpy 4.2) against a real `omnivfx serve` process.

The extension zip is built by host_bridges/build_bridges.py and installed the way Blender installs extensions;
tests/bridge_blender_session.py presses the add-on's operators in its own bpy process (fresh user folders via
BLENDER_USER_RESOURCES) and reports what Blender holds; here that is compared with the daemon's tracks.npz.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import omnimotion_vfx
from daemon_support import DaemonProcess, free_port
from plate_factory import write_plate

pytest.importorskip("bpy")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host_bridges"))
from build_bridges import build_blender  # noqa: E402

SIZE = 64
FIRST = 1001


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """One Blender session (grid, markers + plane track, re-run with sent frames, daemon down): its report,
    the daemon's jobs folder and the plate folder."""
    tmp = tmp_path_factory.mktemp("blender_bridge")
    write_plate(tmp / "plate", count=8, size=(SIZE, SIZE), step=(2.0, 1.0), first=FIRST, extension="png", pixel_type="uint8")
    long_plate = write_plate(tmp / "long", count=16, size=(160, 160), first=1, extension="png", pixel_type="uint8")
    write_plate(tmp / "exr", count=4, size=(SIZE, SIZE), first=1)  # half-float EXR, scene-linear
    archive = build_blender(tmp, None)
    daemon = DaemonProcess(tmp / "jobs").wait_ready()
    try:
        env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp / "blender_user"), OMP_WAIT_POLICY="PASSIVE")
        args = [str(archive), str(tmp / "plate" / f"plate.{FIRST}.png"), daemon.endpoint,
                f"tcp://127.0.0.1:{free_port()}", str(tmp / "report.json"), long_plate,
                str(tmp / "exr" / "plate.0001.exr")]
        done = subprocess.run([sys.executable, str(ROOT / "tests" / "bridge_blender_session.py"), *args],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:] + daemon.log()
    finally:
        daemon.stop()
    return json.loads((tmp / "report.json").read_text()), tmp / "jobs", tmp / "plate"


def read_pixels(path: Path) -> np.ndarray:
    """Pixels in the file's own type (uint8 PNG, half EXR)."""
    import OpenImageIO as oiio

    image = oiio.ImageInput.open(str(path))
    try:
        return image.read_image(oiio.UNKNOWN)
    finally:
        image.close()


def load_tracks(path: Path) -> dict:
    with np.load(path if path.suffix == ".npz" else path / "tracks.npz") as npz:
        return {key: npz[key] for key in npz.files}


def assert_markers_match(tracks: dict, results: dict, names: list[str]) -> None:
    """Every (track, frame) marker sits at the daemon's position, muted exactly where the daemon says hidden."""
    assert len(names) == len(results["tracks"])
    for name, xy, visible in zip(names, results["tracks"], results["visible"]):
        markers = {m[0]: m[1:] for m in tracks[name]}
        assert sorted(markers) == [int(f) - FIRST + 1 for f in results["frames"]]
        for frame, (x, y), seen in zip(results["frames"], xy, visible):
            u, v, mute = markers[int(frame) - FIRST + 1]
            assert u == pytest.approx(x / SIZE, abs=1e-6) and v == pytest.approx(1 - y / SIZE, abs=1e-6)
            assert mute == (not seen)


def test_extension_installs_from_the_built_zip(session):
    report, _, _ = session
    assert "extensions/user_default/omnivfx_tracker/__init__.py" in report["addon_file"]


def test_check_daemon_button(session):
    report, _, _ = session
    assert report["check"] == f"Daemon {omnimotion_vfx.__version__}: 0 running, 0 queued"


def test_tracker_and_preset_menus_come_from_the_daemon(session):
    from omnimotion_vfx.client import FALLBACK_TRACKERS

    report, _, _ = session
    menu = report["menu"]
    assert menu["why"] is None, "the refresh button asked the daemon"
    assert menu["tracker_items"] == list(menu["trackers"]) and menu["tracker_items"][0] == "omnimotion"
    assert menu["trackers"] == FALLBACK_TRACKERS
    assert menu["preset_items"] == list(menu["trackers"]["chained-flow"]["presets"])  # the chosen tracker's presets
    assert "volumetric" in menu["refused"]


def test_selected_markers_become_tracks_with_the_daemon_positions(session):
    report, jobs_dir, _ = session
    results = load_tracks(jobs_dir.parent / "markers_tracks.npz")  # the results folder's tracks.npz of that run
    names = ["corner", "edge", "centre", "low"]
    # The selected markers sat at scene frame 103 = clip frame 3 (clip.frame_start 101) = plate frame 1003.
    np.testing.assert_allclose(results["query_points"][0], [1003, 20.5, 20.5])
    assert_markers_match(report["markers"]["tracks"], results, names)
    assert not results["visible"].all(), "the 'edge' point leaves the frame: some markers must be muted"
    assert report["markers"]["tracks"]["unselected"] == [[3, pytest.approx(40.5 / SIZE), pytest.approx(1 - 12.5 / SIZE), False]]
    assert "4 tracks over 8 frames" in report["markers"]["message"]
    assert set(report["markers"]["stages"]) - {"connecting"}, "the daemon's progress reached the panel"
    assert report["markers_job"]["fit_minutes"] == 2.5, "the panel's fit deadline reached the job"
    assert report["markers_job"]["preset"] == "preview"


def test_rerun_with_sent_frames_updates_the_same_tracks(session):
    report, jobs_dir, _ = session
    results = load_tracks(jobs_dir / report["rerun"]["job_id"] / "results")
    assert sorted(report["rerun"]["tracks"]) == sorted(report["markers"]["tracks"]), "no new tracks on a re-run"
    assert_markers_match(report["rerun"]["tracks"], results, ["corner", "edge", "centre", "low"])


def test_sent_frames_are_the_clip_files_exactly(session):
    """Blender's image pixels come out as the files hold them: PNG bytes as uint8, EXR halves as float16,
    top row first."""
    report, jobs_dir, plate = session
    sent = jobs_dir / report["rerun"]["job_id"] / "plate"
    for frame in range(FIRST, FIRST + 8):
        np.testing.assert_array_equal(read_pixels(sent / f"plate.{frame}.png"), read_pixels(plate / f"plate.{frame}.png")[..., :3])
    exr_sent = jobs_dir / report["exr"]["job_id"] / "plate"
    assert "4 tracks over 4 frames" in report["exr"]["message"]
    for frame in range(1, 5):
        original = read_pixels(plate.parent / "exr" / f"plate.{frame:04d}.exr")
        received = read_pixels(exr_sent / f"plate.{frame:04d}.exr")
        assert received.dtype == np.float16
        np.testing.assert_array_equal(received, original[..., :3])


def test_grid_tracks(session):
    report, jobs_dir, _ = session
    results = load_tracks(jobs_dir / report["grid"]["job_id"] / "results")
    assert_markers_match(report["grid"]["tracks"], results, [f"grid_{i:04d}" for i in range(1, 10)])


def test_plane_track_follows_the_four_tracks(session):
    report, _, _ = session
    plane = report["plane"]["OmniVFX plane"]
    tracks = report["markers"]["tracks"]
    assert [frame for frame, _ in plane] == list(range(1, 9))
    for frame, corners in plane:
        at_frame = {name: tuple(tracks[name][frame - 1][1:3]) for name in ("corner", "edge", "centre", "low")}
        np.testing.assert_allclose(sorted(map(tuple, corners)), sorted(at_frame.values()), atol=1e-6)
    corners = np.array(plane[2][1])  # at the reference frame: counter-clockwise from bottom-left (y up)
    area = 0.5 * np.sum(corners[:, 0] * np.roll(corners[:, 1], -1) - np.roll(corners[:, 0], -1) * corners[:, 1])
    assert area > 0
    assert corners[0][1] == corners[:, 1].min() or corners[1][1] == corners[:, 1].min()


def test_frame_offset_maps_clip_frames_to_the_files_shown(session):
    report, jobs_dir, _ = session
    results = load_tracks(jobs_dir.parent / "offset_tracks.npz")
    np.testing.assert_allclose(results["query_points"], [[1003, 30.5, 20.5]])
    assert results["frames"].tolist() == list(range(1003, 1009))  # only the files that exist
    markers = report["offset"]["tracks"]["offset_probe"]
    assert [m[0] for m in markers] == list(range(1, 7))  # clip frame 1 = plate frame 1003
    for (frame, u, v, mute), (x, y), seen in zip(markers, results["tracks"][0], results["visible"][0]):
        assert (u, v, mute) == (pytest.approx(x / SIZE, abs=1e-6), pytest.approx(1 - y / SIZE, abs=1e-6), not seen)


def test_cancel_stops_the_daemon_job(session):
    report, _, _ = session
    assert report["cancel"]["message"] == "Cancelled (the daemon can resume it)"
    assert report["cancel"]["state"] == "cancelled"


def test_daemon_down_gives_the_start_command_in_the_panel(session):
    report, _, _ = session
    message = report["down"]["message"]
    assert message.startswith("No omnivfx daemon at tcp://127.0.0.1:") and "`omnivfx serve --bind" in message
    assert message.endswith("(or check the CURVE keys)")
    assert report["down"]["seconds"] < 5


def test_region_inside_a_mask(session):
    report, jobs_dir, _ = session
    results = load_tracks(jobs_dir / report["region"]["job_id"] / "results")
    # The mask is the square 16..48 px; a 16 px grid of pixel centres puts four points inside it.
    np.testing.assert_allclose(results["query_points"], [[1003, 24, 24], [1003, 40, 24], [1003, 24, 40], [1003, 40, 40]])
    assert_markers_match(report["region"]["tracks"], results, [f"region_{i:04d}" for i in range(1, 5)])


def test_region_inside_an_annotation_stroke(session):
    report, jobs_dir, _ = session
    results = load_tracks(jobs_dir / report["annotation"]["job_id"] / "results")
    # The stroke (drawn at clip frame 2, still shown at frame 3) outlines 8..40 px: four 16 px grid points.
    np.testing.assert_allclose(results["query_points"], [[1003, 8, 8], [1003, 24, 8], [1003, 8, 24], [1003, 24, 24]])


def test_exported_matte_loads_as_an_image_sequence(session):
    report, _, plate = session
    assert report["matte"] == {"filepath": str(plate.parent / "omnivfx" / "plate_plate" / "export" / "mattes" / "matte.1001.exr"),
                               "source": "SEQUENCE", "is_data": True}
    assert "matte image 'OmniVFX matte' (8 frames)" in report["matte_run"]["message"]


def test_panel_draws_buttons_progress_and_messages(session):
    report, _, _ = session
    done = "\n".join(report["outline_done"])
    for button in ("<Track selected markers>", "<Track grid>", "<Track region>", "[Tracker: chained-flow]"):
        assert button in done
    assert "4 tracks over 8" in done and "<Cancel>" not in done
    running = "\n".join(report["markers"]["outline_running"])
    assert "<Cancel>" in running and "%" in running
    assert "[Fit minutes: 2.5]" in running


def test_same_build_loads_as_a_legacy_addon(tmp_path):
    """The extension's folder, unzipped into scripts/addons/, enables as a plain add-on (bl_info)."""
    import zipfile

    user = tmp_path / "blender_user"
    with zipfile.ZipFile(build_blender(tmp_path)) as zf:
        zf.extractall(user / "scripts" / "addons" / "omnivfx_tracker")
    script = ("import bpy, addon_utils\n"
              "mod = addon_utils.enable('omnivfx_tracker', default_set=True, handle_error=None)\n"
              "assert mod is not None and hasattr(bpy.types.Scene, 'omnivfx')\n"
              "print('enabled', mod.__file__, bpy.ops.omnivfx.track.get_rna_type().name)\n")
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(user))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"enabled {user}/scripts/addons/omnivfx_tracker/__init__.py Track" in done.stdout
