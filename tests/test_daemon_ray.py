"""`omnivfx serve --ray-address`: a real daemon process handing jobs to a real local Ray cluster (`ray start`)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

pytest.importorskip("ray")

from daemon_support import ENV, OMNIVFX, DaemonProcess, free_port  # noqa: E402
from omnimotion_vfx.client import DaemonError, Progress  # noqa: E402
from omnimotion_vfx.results import load_results  # noqa: E402
from omnimotion_vfx.job_runner import run_track_job  # noqa: E402
from omnimotion_vfx.tracking.job import TrackJob  # noqa: E402
from plate_factory import write_plate  # noqa: E402
from ray_head import RAY_ENV, ray_head  # noqa: E402

STEP = (2.0, 1.0)


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory) -> Iterator[str]:
    """A 2-CPU head node on a free loopback port, for this module only."""
    with ray_head(tmp_path_factory.mktemp("ray") / "ray_start.log") as address:
        yield address


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("plates")
    return {
        "small": write_plate(root / "small", count=8, size=(64, 64), step=STEP, extension="png", pixel_type="uint8"),
        # long enough that the Ray task is still running when the cancel reaches it
        "long": write_plate(root / "long", count=16, size=(960, 540), step=STEP, extension="png", pixel_type="uint8"),
    }


def _ray_daemon(jobs_dir: Path, address: str) -> DaemonProcess:
    return DaemonProcess(jobs_dir, "--ray-address", address, "--gpus-per-job", "0.5", env=RAY_ENV).wait_ready(90)


def test_a_job_through_ray_streams_progress_and_matches_the_local_engine(ray_address, plates, tmp_path):
    queries = np.float32([[1001, 20.5, 20.5], [1004, 40.5, 30.5]])
    events: list[Progress] = []
    daemon = _ray_daemon(tmp_path / "jobs", ray_address)
    try:
        with daemon.client(timeout=5.0) as client:
            assert client.status()["engine"].startswith(f"ray {ray_address} (gpus 0, cpus 1")  # no GPU: CPU workers
            started = time.monotonic()
            job_id = client.submit(plates["small"], queries=queries, tracker="chained-flow", out=str(tmp_path / "ray"))
            result = client.wait(job_id, on_progress=events.append)
            ray_seconds = time.monotonic() - started
            assert job_id not in client.status()["fitted_in_memory"]  # fitted on the cluster, not in the daemon
            started = time.monotonic()
            again = client.query_points(job_id, queries[::-1])  # refit locally from the results folder
            query_seconds = time.monotonic() - started
            assert job_id in client.status()["fitted_in_memory"]
        assert daemon.stop() == 0
    finally:
        daemon.kill()

    assert {e.stage for e in events} >= {"read", "flow"} and all(e.state == "running" for e in events)
    assert any(e.total > 0 and e.step == e.total for e in events)
    assert result.results_dir == str(tmp_path / "ray") and result.manifest["tracker"] == "chained-flow"
    assert (tmp_path / "ray" / "manifest.json").is_file()
    started = time.monotonic()
    job = TrackJob.from_dict({"plate": plates["small"], "query_points": queries.tolist(), "tracker": "chained-flow", "out": str(tmp_path / "local")})
    local = load_results(run_track_job(job))
    local_seconds = time.monotonic() - started
    assert list(result.frames) == list(local.frames) == list(range(1001, 1009))
    np.testing.assert_allclose(result.tracks, local.tracks, atol=1e-4)
    assert np.array_equal(result.visible, local.visible)
    np.testing.assert_allclose(result.tracks[0, -1], [20.5 + 7 * STEP[0], 20.5 + 7 * STEP[1]], atol=1.5)
    np.testing.assert_allclose(again.tracks, result.tracks[::-1], atol=1e-4)
    print(f"\nthrough the daemon on Ray: {ray_seconds:.2f} s; run_track_job here: {local_seconds:.2f} s; "
          f"first query_points (local refit): {query_seconds:.2f} s")


def test_cancel_and_sigterm_reach_the_ray_task(ray_address, plates, tmp_path):
    daemon = _ray_daemon(tmp_path / "jobs", ray_address)
    try:
        with daemon.client(timeout=5.0) as client:
            job_id = client.submit(plates["long"], grid=4, tracker="chained-flow", out=str(tmp_path / "out"))
            for event in client.events(job_id):
                if isinstance(event, Progress) and event.stage == "flow":
                    break
            assert client.cancel(job_id)["state"] == "running"  # the task stops at its next safe point
            with pytest.raises(DaemonError) as caught:
                client.wait(job_id)
            assert caught.value.code == "cancelled"
            [job] = [j for j in client.list_jobs() if j["job_id"] == job_id]
            assert job["state"] == "cancelled" and job["resumable"]
            assert not (tmp_path / "out" / "manifest.json").exists()

            assert client.resume(job_id) == job_id
            for event in client.events(job_id):
                if isinstance(event, Progress) and event.stage == "flow":
                    break
        assert daemon.stop(signal.SIGTERM, timeout=60) == 0  # SIGTERM: the task is stopped, the daemon exits
    finally:
        daemon.kill()
    record = json.loads((tmp_path / "jobs" / job_id / "job.json").read_text())
    assert record["state"] == "interrupted" and record["error_code"] == "interrupted"
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_serve_refuses_a_cluster_it_cannot_reach_and_ray_options_without_an_address(tmp_path):
    nothing_there = f"127.0.0.1:{free_port()}"
    command = [OMNIVFX, "serve", "--bind", f"tcp://127.0.0.1:{free_port()}", "--jobs-dir", str(tmp_path / "jobs")]
    env = dict(ENV, **RAY_ENV)
    started = time.monotonic()
    unreachable = subprocess.run([*command, "--ray-address", nothing_there], capture_output=True, text=True, env=env, timeout=60)
    assert unreachable.returncode == 2 and time.monotonic() - started < 30  # not Ray's 12 minutes of retries
    assert f"cannot reach a Ray cluster at '{nothing_there}'" in unreachable.stderr and "Traceback" not in unreachable.stderr
    stray = subprocess.run([*command, "--cpus-per-job", "2"], capture_output=True, text=True, env=env, timeout=60)
    assert stray.returncode == 2 and "--ray-address" in stray.stderr.strip().splitlines()[-1]
