"""Jobs through a real `omnivfx serve` process: submit to result, inline frames, more queries, concurrency, cancel, CLI."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from daemon_support import DaemonProcess, free_port
from omnimotion_vfx.client import DaemonError, Progress
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.results import load_results
from plate_factory import translating_frames, write_plate

STEP = (2.0, 1.0)  # the test plates move (+2, +1) px per frame


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("plates")
    return {
        "small": write_plate(root / "small", count=8, size=(96, 64), step=STEP, extension="png", pixel_type="uint8"),
        # big enough that a job runs for a second or more: cancel and concurrency happen mid-job
        "long": write_plate(root / "long", count=10, size=(640, 360), step=STEP, extension="png", pixel_type="uint8"),
    }


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with DaemonProcess(tmp_path_factory.mktemp("daemon") / "jobs") as process:
        yield process


def test_submit_streams_progress_then_returns_tracks_that_match_the_results_folder(daemon, plates, tmp_path):
    queries = np.float32([[1001, 30.5, 20.5], [1003, 50.5, 40.5]])
    events: list[Progress] = []
    with daemon.client() as client:
        job_id = client.submit(plates["small"], queries=queries, tracker="chained-flow", out=str(tmp_path / "res"))
        result = client.wait(job_id, on_progress=events.append)
        assert {e.stage for e in events} >= {"read", "flow"}
        assert any(e.total > 0 and e.step == e.total for e in events)
        assert result.results_dir == str(tmp_path / "res")
        assert result.tracks.shape == (2, 8, 2) and result.visible.shape == (2, 8)
        np.testing.assert_allclose(result.tracks[0, -1], [30.5 + 7 * STEP[0], 20.5 + 7 * STEP[1]], atol=1.5)
        on_disk = load_results(result.results_dir)
        assert np.array_equal(on_disk.tracks, result.tracks) and np.array_equal(on_disk.visible, result.visible)
        assert list(result.frames) == list(range(1001, 1009)) and result.manifest["tracker"] == "chained-flow"

        assert job_id in client.status()["fitted_in_memory"]
        again = client.query_points(job_id, queries[::-1])  # answered by the warm fitted plate, no refit
        assert again.results_dir is None and np.array_equal(again.tracks, result.tracks[::-1])
        fetched = client.fetch_result(job_id)
        assert np.array_equal(fetched.tracks, result.tracks)
        jobs = {job["job_id"]: job for job in client.list_jobs()}
        assert jobs[job_id]["state"] == "done" and jobs[job_id]["results_dir"] == result.results_dir


@pytest.mark.parametrize("dtype", [np.uint8, np.float16])
def test_inline_frames_become_a_plate_in_the_job_folder(daemon, dtype):
    video = np.stack(translating_frames(6, (80, 48), STEP))
    frames = (video * 255).round().astype(np.uint8) if dtype == np.uint8 else video.astype(np.float16)
    with daemon.client() as client:
        result = client.track(frames=frames, first_frame=101, queries=[[101, 40.5, 24.5]], tracker="chained-flow")
    assert list(result.frames) == list(range(101, 107))
    np.testing.assert_allclose(result.tracks[0, -1], [40.5 + 5 * STEP[0], 24.5 + 5 * STEP[1]], atol=1.5)
    assert Path(result.results_dir).is_relative_to(daemon.jobs_dir)
    suffix = "png" if dtype == np.uint8 else "exr"
    assert len(list((Path(result.results_dir).parent / "plate").glob(f"plate.*.{suffix}"))) == 6


def test_a_running_job_never_delays_another_clients_status(daemon, plates, tmp_path):
    outcome: dict = {}

    def long_job() -> None:
        with daemon.client() as client:
            outcome["result"] = client.track(plates["long"], grid=4, tracker="chained-flow", out=str(tmp_path / "long"))

    worker = threading.Thread(target=long_job)
    worker.start()
    latencies, states = [], set()
    with daemon.client() as other:
        while worker.is_alive():
            t0 = time.perf_counter()
            status = other.status()
            latencies.append(time.perf_counter() - t0)
            states.update(job["state"] for job in other.list_jobs() if job["plate"] == plates["long"])
            time.sleep(0.02)
    worker.join()
    assert "running" in states, "the long job finished before the other client asked"
    assert max(latencies) < 0.5, f"status took up to {max(latencies):.3f} s while a job ran"
    assert status["version"] and outcome["result"].tracks.shape == (16, 10, 2)


def test_two_clients_submit_at_once_and_both_get_their_own_results(daemon, plates, tmp_path):
    results: dict[int, object] = {}

    def run(index: int) -> None:
        with daemon.client() as client:
            results[index] = client.track(plates["small"], queries=[[1001, 10.5 + index, 10.5]], tracker="chained-flow",
                                          out=str(tmp_path / f"r{index}"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [0, 1]
    for index, result in results.items():
        assert result.query_points[0, 1] == pytest.approx(10.5 + index)
        assert result.results_dir == str(tmp_path / f"r{index}")


def test_cancel_a_queued_and_a_running_job(daemon, plates, tmp_path):
    with daemon.client() as client:
        running = client.submit(plates["long"], grid=2, tracker="chained-flow", out=str(tmp_path / "a"))
        queued = client.submit(plates["long"], grid=2, tracker="chained-flow", out=str(tmp_path / "b"))
        assert client.cancel(queued)["state"] == "cancelled"
        for event in client.events(running):
            if isinstance(event, Progress) and event.state == "running":
                break
        assert client.cancel(running)["state"] == "running"  # it stops at its next safe point
        with pytest.raises(DaemonError) as caught:
            client.wait(running)
        assert caught.value.code == "cancelled" and caught.value.exit_code == 3
        jobs = {job["job_id"]: job for job in client.list_jobs()}
    assert jobs[running]["state"] == jobs[queued]["state"] == "cancelled"
    assert jobs[running]["resumable"] and jobs[queued]["resumable"]
    assert not (tmp_path / "a" / "manifest.json").exists() and not (tmp_path / "b").exists()


def test_bad_requests_get_one_line_errors(daemon, plates):
    with daemon.client() as client:
        with pytest.raises(DaemonError) as caught:
            client.fetch_result("no-such-job")
        assert caught.value.code == "unknown_job"
        with pytest.raises(InputError, match="colour"):  # the client checks against the job schema first
            client.submit(plates["small"], grid=2, tracker="chained-flow", colour="x")
        with pytest.raises(InputError, match="fit_minutes"):
            client.submit(plates["small"], grid=2, fit_minutes=-2)
        # the daemon's own check, for clients that skip theirs: every bad field named, one line
        bad = {"plate": str(Path(plates["small"]).resolve()), "grid": "2", "colour": "x", "origin": "up", "proxy": 3}
        with pytest.raises(DaemonError) as caught:
            client._ask("submit", {"job": bad})
        message = str(caught.value)
        assert caught.value.code == "bad_request" and "\n" not in message
        assert all(name in message for name in ("grid", "colour", "origin", "proxy"))
        for field, value, expected in (("preset", "fastest", "not a preset of the chained-flow tracker"),
                                       ("export", "mattes", "omnivfx export RESULTS --format mattes")):
            with pytest.raises(DaemonError) as caught:
                client.submit(plates["small"], grid=2, tracker="chained-flow", **{field: value})
            assert caught.value.code == "bad_request" and expected in str(caught.value)
        # with $OMNIVFX_RESULTS (set for this daemon) the results folder is named at submit, from the plate's names
        with pytest.raises(DaemonError) as caught:
            client.submit(plates["small"] + ".missing", grid=2, tracker="chained-flow")
        assert caught.value.code == "bad_request" and "no files match" in str(caught.value) and "\n" not in str(caught.value)
        job_id = client.submit(plates["small"] + ".missing", grid=2, tracker="chained-flow", out=str(Path(plates["small"]).parent / "o"))
        with pytest.raises(DaemonError) as caught:
            client.wait(job_id)
        assert caught.value.code == "input_error" and "\n" not in str(caught.value)


def test_cli_submit_watch_and_status(daemon, plates, run_omnivfx, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("frame,x,y,name\n1001,20.5,20.5,corner\n")
    done = run_omnivfx("submit", plates["small"], "--queries", points, "--tracker", "chained-flow", "--watch",
                       "--out", tmp_path / "cli", "--connect", daemon.endpoint)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "cli") and load_results(tmp_path / "cli").names == ["corner"]
    # stderr is a pipe: the daemon's progress as a few log lines, answering the queries included; no bar
    assert "\r" not in done.stderr and len(done.stderr.splitlines()) < 40, done.stderr
    assert "omnivfx: queries: started, 1 steps" in done.stderr.splitlines()
    assert any(line.startswith("omnivfx: queries: done, 1 steps in ") for line in done.stderr.splitlines())
    farm = run_omnivfx("submit", plates["small"], "--grid", "2", "--tracker", "chained-flow", "--watch", "--json-progress",
                       "--out", tmp_path / "farm", "--connect", daemon.endpoint)
    lines = [json.loads(line) for line in farm.stdout.splitlines()]
    assert farm.returncode == 0 and lines[-1] == {"result": str(tmp_path / "farm")}
    assert any(line.get("stage") == "flow" for line in lines[:-1])
    assert any(line.get("stage") == "queries" and line["step"] == line["total"] == 4 for line in lines[:-1])
    assert all("eta_total" in line for line in lines[:-1] if line.get("stage"))
    status = run_omnivfx("status", "--connect", daemon.endpoint)
    assert status.returncode == 0 and "protocol 1" in status.stdout and str(tmp_path / "cli") in status.stdout

    t0 = time.monotonic()
    dead = run_omnivfx("status", "--timeout", "0.5", "--connect", f"tcp://127.0.0.1:{free_port()}")
    assert dead.returncode == 1 and "no answer" in dead.stderr and time.monotonic() - t0 < 8


def test_queries_reload_the_fit_through_load_fitted_and_never_refit(plates, tmp_path):
    """--keep-fitted 0: every query reloads the finished job's folder. The reload answers as the fit did and leaves
    the checkpoint alone; a folder whose checkpoint is gone is an input error, not a fresh fit."""
    out = tmp_path / "res"
    checkpoint = out / "work" / "engine" / "checkpoint.pt"
    with DaemonProcess(tmp_path / "jobs", "--keep-fitted", "0", env={"OMNIVFX_ENGINE_OVERRIDES": '{"trainer.steps": 8}'}) as daemon, \
            daemon.client(timeout=120.0) as client:
        job_id = client.submit(plates["small"], grid=2, tracker="omnimotion", preset="test", device="cpu", out=str(out))
        result = client.wait(job_id)
        written = checkpoint.stat().st_mtime_ns
        again = client.query_points(job_id, result.query_points)
        assert np.allclose(again.tracks, result.tracks, atol=1e-4) and checkpoint.stat().st_mtime_ns == written
        checkpoint.unlink()
        with pytest.raises(DaemonError) as caught:
            client.query_points(job_id, result.query_points)
        assert caught.value.code == "input_error" and "nothing was refitted" in str(caught.value)
        assert not checkpoint.exists()


def test_capabilities_list_the_trackers_presets_and_job_schema(daemon):
    from omnimotion_vfx.tracking.job_schema import JOB_FIELDS

    with daemon.client() as client:
        capabilities = client.capabilities()
    trackers = capabilities["trackers"]
    assert {"omnimotion", "chained-flow"} <= set(trackers) and capabilities["default_tracker"] == "omnimotion"
    assert {"default", "preview", "volumetric", "paper"} <= set(trackers["omnimotion"]["presets"])
    assert "volumetric" not in trackers["chained-flow"]["presets"]
    assert all(isinstance(line, str) and line for line in trackers["omnimotion"]["presets"].values())
    assert [field["name"] for field in capabilities["job_schema"]] == list(JOB_FIELDS)


def test_cli_submit_takes_every_job_field_a_layered_exr_and_exports_on_the_daemon(daemon, run_omnivfx, tmp_path):
    """The layered EXR goes through the daemon from the command line: --layer, --proxy, --colorspace, --device,
    --origin and --export reach the job."""
    from plate_factory import to_linear, translating_frames, write_image

    for i, frame in enumerate(translating_frames(6, (96, 64), STEP)):
        stacked = np.concatenate([np.full((64, 96, 3), 0.5, np.float32), to_linear(frame)], axis=-1)
        write_image(tmp_path / f"aov.{1001 + i}.exr", stacked, "half", ["R", "G", "B", "beauty.R", "beauty.G", "beauty.B"])
    points = tmp_path / "nuke_points.csv"
    points.write_text("frame,x,y\n1001,30.5,43.5\n")  # y up from the bottom: 64 - 43.5 = 20.5 from the top
    out = tmp_path / "res"
    done = run_omnivfx("submit", tmp_path / "aov.####.exr", "--layer", "beauty", "--proxy", "0.5", "--device", "cpu",
                       "--colorspace", "ocio://default:ACEScg", "--queries", points, "--origin", "bottom-left",
                       "--tracker", "chained-flow", "--export", "nuke,csv", "--out", out, "--watch",
                       "--connect", daemon.endpoint)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    job = manifest["config"]["job"]
    assert (manifest["layer"], job["proxy"], job["device"], job["origin"]) == ("beauty", 0.5, "cpu", "bottom-left")
    with np.load(out / "tracks.npz") as data:
        np.testing.assert_allclose(data["query_points"][0], [1001, 30.5, 20.5])
        moved = data["tracks"][0, -1] - data["tracks"][0, 0]
    np.testing.assert_allclose(moved, 5 * np.asarray(STEP), atol=0.75)  # the beauty layer moves; RGB is flat
    assert {p.suffix for p in (out / "export").rglob("*") if p.is_file()} >= {".nk", ".csv"}
    refused = run_omnivfx("submit", tmp_path / "aov.####.exr", "--grid", "2", "--preset", "fastest", "--tracker",
                          "chained-flow", "--connect", daemon.endpoint)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "choose one of default" in refused.stderr


def test_a_job_without_out_keeps_its_results_in_the_jobs_folder_not_beside_two_same_named_plates(tmp_path):
    """The panels send no `out`: without $OMNIVFX_RESULTS, two shots whose plates are both plate.####.png in
    folders of the same name get two folders in the daemon's jobs folder, never one shared (and refused) one."""
    first = write_plate(tmp_path / "sh010" / "plate", count=4, size=(64, 48), step=STEP, extension="png", pixel_type="uint8")
    second = write_plate(tmp_path / "sh020" / "plate", count=4, size=(64, 48), step=(-1.0, 0.5), extension="png", pixel_type="uint8")
    with DaemonProcess(tmp_path / "jobs", env={"OMNIVFX_RESULTS": ""}) as daemon, daemon.client(timeout=60.0) as client:
        results = [client.wait(client.submit(plate, grid=2, tracker="chained-flow")) for plate in (first, second)]
    folders = [Path(result.results_dir) for result in results]
    assert folders[0] != folders[1]
    for folder, result in zip(folders, results):
        assert folder == tmp_path / "jobs" / result.job_id / "results" and (folder / "manifest.json").is_file()
    assert not (tmp_path / "omnivfx").exists()  # nothing in the daemon's working directory


def test_a_job_without_out_gets_the_daemons_results_root_at_submit(tmp_path):
    """$OMNIVFX_RESULTS set only in the daemon's environment: the daemon names the results folder when the job is
    accepted (it is in the stored job), so a Ray worker with another environment writes to the same place."""
    plate = write_plate(tmp_path / "sh030", count=4, size=(64, 48), step=STEP, extension="png", pixel_type="uint8")
    root = tmp_path / "show_results"
    with DaemonProcess(tmp_path / "jobs", env={"OMNIVFX_RESULTS": str(root)}) as daemon, daemon.client(timeout=60.0) as client:
        job_id = client.submit(plate, grid=2, tracker="chained-flow")
        stored = json.loads((tmp_path / "jobs" / job_id / "job.json").read_text())["spec"]
        result = client.wait(job_id)
    assert stored["out"] == str(root / "sh030_plate")
    assert Path(result.results_dir) == root / "sh030_plate" and (root / "sh030_plate" / "manifest.json").is_file()
