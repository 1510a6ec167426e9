"""The Nuke panel against a real `omnivfx serve` process, inside a fake `nuke` (tests/fake_nuke) that enforces
the API's signatures and its threading rule, and records calls. Nodes it builds are checked against the
daemon's tracks.npz. What real Nuke would do differently is listed in docs/bridges.md.
"""

from __future__ import annotations

import json
import runpy
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import omnimotion_vfx
from daemon_support import DaemonProcess, free_port
from plate_factory import write_plate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fake_nuke"))
sys.path.insert(0, str(ROOT / "host_bridges"))
from build_bridges import build_nuke  # noqa: E402

WIDTH, HEIGHT, FIRST = 64, 48, 1001


@pytest.fixture(scope="module")
def nuke_path(tmp_path_factory):
    """The built plug-in folder on sys.path, as NUKE_PATH puts it there in Nuke (replacing the source copy the
    logic tests import, which has no vendored client)."""
    folder = build_nuke(tmp_path_factory.mktemp("nuke_plugin") / "omnivfx_nuke_plugin")
    forget_bridge_modules()
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    forget_bridge_modules()


def forget_bridge_modules() -> None:
    for name in [m for m in sys.modules if m == "omnivfx_nuke" or m.startswith("omnivfx_nuke.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("nuke_daemon") / "jobs").wait_ready()
    yield process
    process.stop()


@pytest.fixture
def nuke(nuke_path):
    import nuke as fake

    fake.reset()
    return fake


@pytest.fixture
def plate(tmp_path) -> Path:
    """A plate folder named for its test: every job without `out` of the module's daemon lands in one results root
    as <plate folder name>_plate (see `default_results`), and a folder of another plate's results is refused."""
    write_plate(tmp_path / tmp_path.name, count=8, size=(WIDTH, HEIGHT), step=(2.0, 1.0), first=FIRST)
    return tmp_path / tmp_path.name


def default_results(daemon, plate: Path) -> Path:
    """Where a job without `out` writes: <plate folder name>_<plate name> in the results root that
    tests/daemon_support.py gives test daemons, OMNIVFX_RESULTS=<jobs folder's parent>/omnivfx (a daemon without
    OMNIVFX_RESULTS keeps such a job's results in <jobs folder>/<job id>/results)."""
    return daemon.jobs_dir.parent / "omnivfx" / f"{plate.name}_plate"


def read_node(nuke, plate: Path):
    """A Read of the EXR plate, shifted to start at script frame 1 (as many comps do)."""
    read = nuke.createNode("Read", "", False)
    read["file"].setValue(str(plate / "plate.####.exr"))
    read["first"].setValue(FIRST)
    read["last"].setValue(FIRST + 7)
    read["frame_mode"].setValue("start at")
    read["frame"].setValue("1")
    return read


def source_tracker(nuke, points_nuke: list[tuple[float, float]], script_frame: int):
    """A Tracker4 with one track per point, keyed at `script_frame`, as an artist leaves it."""
    tracker = nuke.createNode("Tracker4", "", False)
    for track, (x, y) in enumerate(points_nuke):
        tracker["add_track"].execute()
        for column, value in ((2, x), (3, y)):
            tracker["tracks"].setAnimated(track * 31 + column)
            tracker["tracks"].setValueAt(value, script_frame, track * 31 + column)
    return tracker


def press_and_wait(nuke, panel, timeout: float = 60.0):
    """Press Track, then run Nuke's main-thread loop until the worker has finished and reported back."""
    panel.knobChanged(panel.track)
    run = panel.run
    assert run is not None, panel.status.value()
    deadline = time.monotonic() + timeout
    while panel.run is not None:
        assert time.monotonic() < deadline, "the worker never finished"
        nuke.process_events(0.05)
    return run


def load_npz(folder: Path) -> dict:
    with np.load(folder / "tracks.npz") as npz:
        return {key: npz[key] for key in npz.files}


def test_menu_entry_opens_the_panel(nuke, nuke_path):
    runpy.run_path(str(nuke_path / "menu.py"))
    command, _ = nuke.MENUS["Nuke"].commands["OmniVFX/Track with daemon..."]
    panel = command()
    assert panel.shown and {"address", "track", "cancel", "status", "grid", "cornerpin"} <= set(panel.knobs())


def test_tracker_points_become_a_tracker4_and_cornerpin(nuke, daemon, plate):
    from omnivfx_nuke.panel import OmniVFXPanel

    read = read_node(nuke, plate)
    corners = [(12.5, 10.5), (50.5, 12.5), (48.5, 36.5), (61.5, 30.5)]  # Nuke pixels, y up; the last one leaves
    source = source_tracker(nuke, corners, 3)
    read.setSelected(True)
    nuke.frame(3)  # script frame 3 = plate frame 1003
    panel = OmniVFXPanel()
    panel.address.setValue(daemon.endpoint)
    panel.tracker.setValue("chained-flow")
    panel.preset.setValue("preview")
    panel.fit_minutes.setValue(1.5)
    panel.cornerpin.setValue(True)
    assert source.isSelected() and read.isSelected()
    run = press_and_wait(nuke, panel)

    results = load_npz(default_results(daemon, plate))
    job = json.loads((default_results(daemon, plate) / "manifest.json").read_text())["config"]["job"]
    assert job["fit_minutes"] == 1.5, "the panel's fit deadline reached the job"
    assert job["origin"] == "bottom-left", "the panel sends Nuke's pixels and says so"
    expected_queries = [[1003, x, HEIGHT - y] for x, y in corners]
    np.testing.assert_allclose(results["query_points"], expected_queries, atol=1e-4)
    tracker, pin = run.nodes[0], run.nodes[1]
    assert (tracker.Class(), pin.Class()) == ("Tracker4", "CornerPin2D")
    table = tracker["tracks"]
    script_frames = results["frames"] - FIRST + 1
    assert not results["visible"].all(), "a corner leaves the frame: some keys must be left out"
    for track, (xy, visible) in enumerate(zip(results["tracks"], results["visible"])):
        want_x = {float(f): float(x) for f, x, seen in zip(script_frames, xy[:, 0], visible) if seen}
        want_y = {float(f): float(HEIGHT - y) for f, y, seen in zip(script_frames, xy[:, 1], visible) if seen}
        assert table.keys(track * 31 + 2) == pytest.approx(want_x)
        assert table.keys(track * 31 + 3) == pytest.approx(want_y)
        assert (table.getValue(track * 31 + 6), table.getValue(track * 31 + 7)) == (1, 0)
    assert tracker["reference_frame"].value() == 3
    # CornerPin2D: from1..4 hold the four tracks at the reference frame, bottom-left first, counter-clockwise
    # (positive area in y-up space); to1..4 are keyed on the frames where that track is visible.
    ref = [(float(x), float(HEIGHT - y)) for x, y in results["tracks"][:, 2]]
    froms = [(pin[f"from{k}"].value(0), pin[f"from{k}"].value(1)) for k in range(1, 5)]
    slots = [ref.index(p) for p in froms]
    assert sorted(slots) == [0, 1, 2, 3]
    xs, ys = np.array(froms).T
    assert 0.5 * np.sum(xs * np.roll(ys, -1) - np.roll(xs, -1) * ys) > 0
    for k, corner in enumerate(slots, start=1):
        seen = results["visible"][corner]
        want = {float(f): float(x) for f, x in zip(script_frames[seen], results["tracks"][corner, seen, 0])}
        assert pin[f"to{k}"].keys(0) == pytest.approx(want)

    task = nuke.PROGRESS_TASKS[-1]
    assert task.progress and task.progress[-1] == 100 and task.messages
    assert all(thread == "MainThread" for thread, call, _ in nuke.CALLS if call in ("createNode", "setValue", "setAnimated"))
    assert any(call == "executeInMainThreadWithResult" and thread.startswith("omnivfx-") for thread, call, _ in nuke.CALLS)
    assert "Tracker4" in panel.status.value() and "CornerPin2D" in panel.status.value()


def test_grid_and_dense_reads_of_an_exported_matte(nuke, daemon, plate, run_omnivfx):
    from omnivfx_nuke.panel import OmniVFXPanel

    read = read_node(nuke, plate)
    read.setSelected(True)
    nuke.frame(1)
    panel = OmniVFXPanel()
    panel.address.setValue(daemon.endpoint)
    panel.tracker.setValue("chained-flow")
    panel.source.setValue("grid")
    panel.grid.setValue(3)
    panel.dense_reads.setValue(True)
    run = press_and_wait(nuke, panel)
    assert len(run.nodes) == 1 and "no mattes/STMaps yet" in panel.status.value()
    results_dir = default_results(daemon, plate)
    assert len(load_npz(results_dir)["tracks"]) == 9
    done = run_omnivfx("export", str(results_dir), "--format", "mattes", "--ref-frame", "1001",
                       "--region-polygon", "10,10 50,10 50,40 10,40", "--matte-samples", "1", timeout=120)
    assert done.returncode == 0, done.stderr
    for node in nuke.NODES:  # the new Tracker4 took the selection, as createNode does in Nuke
        node.setSelected(node is read)
    run = press_and_wait(nuke, panel)
    assert len(run.nodes) == 2, panel.status.value()
    matte = run.nodes[1]
    assert matte.Class() == "Read" and matte["file"].value() == str(results_dir / "export" / "mattes" / "matte.####.exr")
    assert (matte["first"].value(), matte["last"].value(), matte["raw"].value()) == (FIRST, FIRST + 7, True)
    assert (matte["frame_mode"].value(), matte["frame"].value()) == ("offset", "-1000")


def test_daemon_down_shows_the_start_command(nuke, plate):
    from omnivfx_nuke.panel import OmniVFXPanel

    read_node(nuke, plate).setSelected(True)
    panel = OmniVFXPanel()
    panel.address.setValue(f"tcp://127.0.0.1:{free_port()}")
    panel.source.setValue("grid")
    started = time.monotonic()
    press_and_wait(nuke, panel)
    assert panel.status.value().startswith("No omnivfx daemon at tcp://127.0.0.1:")
    assert "`omnivfx serve --bind" in panel.status.value() and time.monotonic() - started < 5


def test_bad_selection_is_a_panel_message(nuke):
    from omnivfx_nuke.panel import OmniVFXPanel

    panel = OmniVFXPanel()
    panel.knobChanged(panel.track)
    assert panel.run is None and panel.status.value() == "select one Read node (the plate to track)"


def test_the_fake_refuses_node_work_off_the_main_thread(nuke):
    errors = []

    def worker() -> None:
        for call in (lambda: nuke.createNode("Tracker4", "", False), lambda: nuke.selectedNodes()):
            try:
                call()
            except RuntimeError as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=worker, name="worker")
    thread.start()
    thread.join()
    assert len(errors) == 2 and all("executeInMainThread" in e for e in errors)
    with pytest.raises(RuntimeError):
        nuke.executeInMainThreadWithResult(lambda: None)
    with pytest.raises(TypeError):
        nuke.createNode("Tracker4", inpanel="no")


def test_progress_bar_cancel_stops_the_daemon_job(nuke, daemon, plate, tmp_path):
    """The panel's job waits behind a longer one (one worker); the artist cancels from Nuke's progress bar."""
    from omnivfx_nuke.panel import OmniVFXPanel

    long_plate = write_plate(tmp_path / "long", count=16, size=(160, 160), first=1)
    with daemon.client() as client:
        blocker = client.submit(long_plate, grid=2, tracker="chained-flow")
    try:
        read_node(nuke, plate).setSelected(True)
        panel = OmniVFXPanel()
        panel.address.setValue(daemon.endpoint)
        panel.tracker.setValue("chained-flow")
        panel.source.setValue("grid")
        panel.knobChanged(panel.track)
        run = panel.run
        deadline = time.monotonic() + 30
        while panel.run is not None:
            assert time.monotonic() < deadline, "the cancelled run never finished"
            if nuke.PROGRESS_TASKS:
                nuke.PROGRESS_TASKS[-1].cancelled = True
            nuke.process_events(0.05)
        assert panel.status.value() == "Cancelled (the daemon can resume it)"
        assert run.nodes == [] and not [n for n in nuke.NODES if n.Class() == "Tracker4"]
        with daemon.client() as client:
            states = {job["job_id"]: job["state"] for job in client.list_jobs()}
        assert states[run.job_id] == "cancelled"
    finally:
        with daemon.client() as client:
            client.cancel(blocker)


def test_encrypted_daemon_needs_the_panels_key_folder(nuke, plate, tmp_path, run_omnivfx):
    keys = tmp_path / "keys"
    assert run_omnivfx("keys", keys, "--client", "nuke-ws01").returncode == 0
    allowed = keys / "clients" / "nuke-ws01"
    daemon = DaemonProcess(tmp_path / "jobs", "--curve-keys", str(keys), client_args={"curve_keys": allowed}).wait_ready()
    try:
        from omnivfx_nuke.panel import OmniVFXPanel

        read_node(nuke, plate).setSelected(True)
        panel = OmniVFXPanel()
        panel.address.setValue(daemon.endpoint)
        panel.curve_keys.setValue(str(allowed))
        panel.knobChanged(panel.check)  # the Check daemon button, answered from a thread
        deadline = time.monotonic() + 10
        while not panel.status.value():
            assert time.monotonic() < deadline
            nuke.process_events(0.05)
        assert panel.status.value() == f"Daemon {omnimotion_vfx.__version__}: 0 running, 0 queued"
        panel.tracker.setValue("chained-flow")
        panel.source.setValue("grid")
        panel.grid.setValue(2)
        run = press_and_wait(nuke, panel)
        assert [n.Class() for n in run.nodes] == ["Tracker4"], panel.status.value()
        panel.curve_keys.setValue(str(tmp_path / "no_such_keys"))
        for node in nuke.NODES:
            node.setSelected(node.Class() == "Read")
        press_and_wait(nuke, panel)
        assert panel.status.value().startswith("Daemon error (bad_request):") and "omnivfx keys" in panel.status.value()
        panel.curve_keys.setValue("")  # without the key the daemon stays silent
        for node in nuke.NODES:
            node.setSelected(node.Class() == "Read")
        press_and_wait(nuke, panel)
        assert panel.status.value().startswith(f"No omnivfx daemon at {daemon.endpoint}")
    finally:
        daemon.stop()


def _wait_for_menu(nuke, panel, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while "asking" in panel.menu_source.value():
        assert time.monotonic() < deadline
        nuke.process_events(0.05)
    return panel.menu_source.value()


def test_trackers_and_presets_come_from_the_daemon_or_say_they_are_built_in(nuke, daemon):
    from omnivfx_nuke.panel import OmniVFXPanel

    with daemon.client() as client:
        offered = client.capabilities()["trackers"]
    panel = OmniVFXPanel()
    assert _wait_for_menu(nuke, panel).startswith("Trackers and presets: built-in list (no daemon at ")
    panel.address.setValue(daemon.endpoint)
    panel.menu_source.setValue("asking")
    panel.knobChanged(panel.check)
    assert _wait_for_menu(nuke, panel) == f"Trackers and presets from the daemon at {daemon.endpoint}"
    assert sorted(panel.tracker.values) == sorted(offered) and panel.tracker.values[0] == "omnimotion"
    assert panel.preset.values == list(offered["omnimotion"]["presets"])
    panel.preset.setValue("volumetric")
    panel.tracker.setValue("chained-flow")
    panel.knobChanged(panel.tracker)  # the preset menu follows the tracker; a preset it lacks falls back
    assert panel.preset.values == list(offered["chained-flow"]["presets"]) and panel.preset.value() == "default"
    assert "paper: the OmniMotion paper's chained-flow baseline" in panel.preset.tooltip
