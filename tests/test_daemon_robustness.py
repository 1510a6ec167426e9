"""Processes dying: a client killed mid-job, the daemon killed (-9) and restarted, the daemon stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from daemon_support import ENV, OMNIVFX, DaemonProcess
from omnimotion_vfx.client import DaemonError, DaemonUnavailable, Progress
from omnimotion_vfx.results import load_results
from plate_factory import write_plate

CLIENT_SCRIPT = """
import sys
from omnimotion_vfx.client import Client, Progress
client = Client(sys.argv[1])
job_id = client.submit(sys.argv[2], grid=3, tracker="chained-flow", out=sys.argv[3])
print(job_id, flush=True)
for event in client.events(job_id):
    if isinstance(event, Progress) and event.stage == "flow":
        print("flow", flush=True)
"""


@pytest.fixture(scope="module")
def long_plate(tmp_path_factory) -> str:
    """Ten 640x360 frames: a chained-flow job long enough (about a second) to be caught mid-way."""
    return write_plate(tmp_path_factory.mktemp("plates") / "long", count=10, size=(640, 360), extension="png", pixel_type="uint8")


def _job_file(daemon: DaemonProcess, job_id: str) -> dict:
    return json.loads((daemon.jobs_dir / job_id / "job.json").read_text())


def _wait_running(client, job_id: str) -> None:
    for event in client.events(job_id):
        if isinstance(event, Progress) and event.state == "running":
            return


def test_a_client_killed_mid_job_leaves_the_job_running_to_completion(tmp_path, long_plate):
    with DaemonProcess(tmp_path / "jobs") as daemon:
        client_process = subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, daemon.endpoint, long_plate, str(tmp_path / "out")],
                                          stdout=subprocess.PIPE, text=True, env=ENV)
        job_id = client_process.stdout.readline().strip()
        assert client_process.stdout.readline().strip() == "flow"
        client_process.send_signal(signal.SIGKILL)
        client_process.wait(10)
        client_process.stdout.close()
        with daemon.client() as survivor:
            state = {job["job_id"]: job["state"] for job in survivor.list_jobs()}[job_id]
            assert state == "running", "the job was not mid-way when its client died"
            result = survivor.wait(job_id)
        assert result.tracks.shape == (9, 10, 2)
        assert np.array_equal(load_results(tmp_path / "out").tracks, result.tracks)
        assert _job_file(daemon, job_id)["state"] == "done"


def test_daemon_killed_then_restarted_finds_results_and_resumes_the_interrupted_job(tmp_path, long_plate):
    daemon = DaemonProcess(tmp_path / "jobs").wait_ready()
    port = int(daemon.endpoint.rsplit(":", 1)[1])
    try:
        with daemon.client() as client:
            finished = client.submit(long_plate, grid=2, tracker="chained-flow", frame_range="1001-1003", out=str(tmp_path / "done"))
            client.wait(finished)
            running = client.submit(long_plate, grid=2, tracker="chained-flow", out=str(tmp_path / "running"))
            _wait_running(client, running)
        failure: dict = {}

        def watch() -> None:
            t0 = time.monotonic()
            try:
                with daemon.client(timeout=1.0, retries=1) as watcher:
                    watcher.wait(running)
            except DaemonUnavailable as exc:
                failure["after"], failure["error"] = time.monotonic() - t0, exc

        watcher = threading.Thread(target=watch)
        watcher.start()
        time.sleep(0.3)
        killed_at = time.monotonic()
        daemon.kill()  # SIGKILL: no chance to write anything
        watcher.join(20)
        assert "error" in failure, "a client waiting on a dead daemon never noticed"
        assert time.monotonic() - killed_at < 6, "noticing a dead daemon took too long"
        assert _job_file(daemon, running)["state"] == "running"
    finally:
        daemon.kill()

    with DaemonProcess(tmp_path / "jobs", port=port) as restarted, restarted.client() as client:
        jobs = {job["job_id"]: job for job in client.list_jobs()}
        assert jobs[finished]["state"] == "done" and jobs[finished]["results_dir"] == str(tmp_path / "done")
        fetched = client.fetch_result(finished)
        assert fetched.tracks.shape == (4, 3, 2)
        assert client.status()["fitted_in_memory"] == []
        refitted = client.query_points(finished, fetched.query_points)  # reloaded from its plate and caches
        assert np.allclose(refitted.tracks, fetched.tracks, atol=1e-4)
        assert client.status()["fitted_in_memory"] == [finished]
        assert jobs[running]["state"] == "interrupted" and jobs[running]["resumable"]
        with pytest.raises(DaemonError) as caught:
            client.wait(running)
        assert caught.value.code == "interrupted"
        assert client.resume(running) == running
        assert client.wait(running).tracks.shape == (4, 10, 2)


def test_sigterm_stops_running_jobs_at_a_checkpoint_and_exits_cleanly(tmp_path, long_plate):
    daemon = DaemonProcess(tmp_path / "jobs").wait_ready()
    try:
        with daemon.client() as client:
            job_id = client.submit(long_plate, grid=2, tracker="chained-flow", out=str(tmp_path / "out"))
            with pytest.raises(DaemonError) as caught:  # the final word reaches the watching client
                signalled = False
                for event in client.events(job_id):
                    if isinstance(event, Progress) and event.state == "running" and not signalled:
                        daemon.process.send_signal(signal.SIGTERM)
                        signalled = True
        assert caught.value.code == "interrupted"
        assert daemon.process.wait(30) == 0, daemon.log()  # one SIGTERM is enough: no second signal here
    finally:
        daemon.kill()
    state = _job_file(daemon, job_id)
    assert state["state"] == "interrupted" and state["error_code"] == "interrupted"
    assert not (tmp_path / "out" / "manifest.json").exists()
    assert "shutting down" in daemon.log()


def test_ipc_socket_is_private_to_its_owner(tmp_path):
    socket_path = tmp_path / "omnivfx.sock"
    process = subprocess.Popen([OMNIVFX, "serve", "--bind", f"ipc://{socket_path}",
                                "--jobs-dir", str(tmp_path / "jobs")], env=ENV, stderr=subprocess.PIPE)
    try:
        from omnimotion_vfx.client import Client

        with Client(f"ipc://{socket_path}", timeout=5.0, retries=2) as client:
            assert client.status()["protocol"] == 1
        assert oct(os.stat(socket_path).st_mode & 0o777) == "0o600"
    finally:
        process.terminate()
        assert process.wait(20) == 0
        process.stderr.close()
