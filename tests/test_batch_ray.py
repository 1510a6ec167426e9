"""`omnivfx batch` and `submit_to_ray` on a real local Ray cluster (started once for this module)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from click.testing import CliRunner  # noqa: E402

from omnimotion_vfx.batch.cluster import ShotResources  # noqa: E402
from omnimotion_vfx.batch.runner import batch_exit_code, run_batch  # noqa: E402
from omnimotion_vfx.batch.shot_list import Shot  # noqa: E402
from omnimotion_vfx.batch.submit import submit_to_ray  # noqa: E402
from omnimotion_vfx.errors import InputError, Interrupted  # noqa: E402
from omnimotion_vfx.progress import StopToken  # noqa: E402
from omnimotion_vfx.results import load_results  # noqa: E402
from omnimotion_vfx.job_runner import run_track_job  # noqa: E402
from omnimotion_vfx.tracking.job import TrackJob  # noqa: E402
from omnivfx_cli.main import main  # noqa: E402

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
import batch_support  # noqa: E402  (registers the test trackers in this process too)


@pytest.fixture(scope="module")
def cluster():
    """One real 2-CPU Ray for the module; workers import batch_support (test trackers) at start-up."""
    os.environ["RAY_AUTH_MODE"] = "disabled"
    pythonpath = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": pythonpath}, "worker_process_setup_hook": "batch_support.register"},
    )
    yield
    ray.shutdown()


SHOT_LIST = """\
[defaults]
tracker = "chained-flow"
grid = 4

[[shots]]
name = "sh010"
plate = "plates/sh010/plate.%04d.png"
out = "out/sh010"

[[shots]]
name = "sh020"
plate = "plates/sh020/plate.%04d.png"
frames = "1002-1007"
out = "out/sh020"

[[shots]]
name = "sh030_killed"
plate = "plates/sh030/plate.%04d.png"
tracker = "test-killed-once"
out = "out/sh030"

[[shots]]
name = "sh040_bad"
plate = "plates/missing/plate.%04d.png"
out = "out/sh040"
"""


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def first_batch(cluster, tmp_path_factory):
    """The show folder and the CLI result of its first batch run (JSON progress)."""
    show = tmp_path_factory.mktemp("show")
    for i, name in enumerate(("sh010", "sh020", "sh030")):
        batch_support.write_plate(show / "plates" / name, frames=8 if name == "sh020" else 6, seed=i)
    (show / "shots.toml").write_text(SHOT_LIST)
    result = CliRunner().invoke(main, ["batch", str(show / "shots.toml"), "--json-progress", "--gpus-per-shot", "0.25"])
    return show, result


def test_batch_tracks_every_shot_like_a_local_run(first_batch):
    show, result = first_batch
    assert result.exit_code == 2, result.output  # one shot had bad input, the others went on
    events = _json_lines(result.stdout)
    summary = {row["shot"]: row for row in events[-1]["shots"]}
    assert events[-1]["type"] == "summary"
    assert [summary[s]["status"] for s in ("sh010", "sh020", "sh030_killed", "sh040_bad")] == ["done", "done", "retried", "failed"]
    assert any(e["type"] == "note" and "no GPU" in e["message"] for e in events)
    for shot in ("sh010", "sh020", "sh030_killed"):
        assert any(e["type"] == "progress" and e["shot"] == shot and e["stage"] == "flow" for e in events)
    assert [e["finished"] for e in events if e["type"] == "batch"] == [1, 2, 3, 4]

    for shot, folder, frames in (("sh010", "sh010", None), ("sh020", "sh020", "1002-1007"), ("sh030_killed", "sh030", None)):
        local = run_track_job(TrackJob(
            plate=str(show / "plates" / folder / "plate.%04d.png"), frames=frames, grid=4, out=str(show / "local" / folder),
            tracker="chained-flow",  # the shot list's default
        ))
        ours, reference = load_results(summary[shot]["folder"]), load_results(local)
        assert list(ours.frames) == list(reference.frames)
        np.testing.assert_allclose(ours.tracks, reference.tracks, atol=1e-4)
        np.testing.assert_array_equal(ours.visible, reference.visible)
    assert list(load_results(show / "out" / "sh020").frames) == list(range(1002, 1008))


def test_killed_worker_is_retried_and_resumes_from_its_checkpoint(first_batch):
    show, result = first_batch
    events = _json_lines(result.stdout)
    starts = [e["attempt"] for e in events if e["type"] == "start" and e["shot"] == "sh030_killed"]
    assert starts == [1, 2]
    row = next(r for r in events[-1]["shots"] if r["shot"] == "sh030_killed")
    assert row["attempts"] == 2 and "attempt 1: worker lost" in row["message"]
    manifest = load_results(show / "out" / "sh030").manifest
    resumed = manifest["config"]["tracker"]["resumed_from"]
    assert resumed["step"] == 3 and resumed["pid"] != os.getpid()  # the dead worker's checkpoint, read by the retry


def test_bad_input_fails_alone_with_its_one_line_message(first_batch):
    show, result = first_batch
    row = next(r for r in _json_lines(result.stdout)[-1]["shots"] if r["shot"] == "sh040_bad")
    assert row["input_error"] and row["attempts"] == 1
    assert "plates/missing/plate.%04d.png" in row["message"] and "\n" not in row["message"]
    assert "sh040_bad" in result.stderr and "failed" in result.stderr  # the summary table
    assert not (show / "out" / "sh040").exists()


def test_rerun_skips_finished_shots_and_redoes_changed_ones(first_batch):
    show, _ = first_batch
    before = (show / "out" / "sh010" / "manifest.json").read_text()
    changed = SHOT_LIST.replace('out = "out/sh020"', 'out = "out/sh020"\ngrid = 3')
    (show / "rerun.toml").write_text(changed.replace('name = "sh040_bad"\nplate = "plates/missing', 'name = "sh040_bad"\nplate = "plates/sh010'))
    result = CliRunner().invoke(main, ["batch", str(show / "rerun.toml")])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[2:6]}
    assert rows == {"sh010": "skipped", "sh020": "done", "sh030_killed": "skipped", "sh040_bad": "done"}
    assert (show / "out" / "sh010" / "manifest.json").read_text() == before
    assert load_results(show / "out" / "sh020").tracks.shape[0] == 9


def test_unexpected_errors_are_retried_then_reported(cluster, tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    shots = [
        Shot(name, TrackJob(plate=plate, grid=2, tracker=f"test-{name}", out=str(tmp_path / name)))
        for name in ("fails-once", "always-fails")
    ]
    flaky, broken = run_batch(shots, ShotResources(retries=1))
    assert flaky.status == "retried" and "attempt 1: RuntimeError: simulated out-of-memory" in flaky.message
    assert broken.status == "failed" and not broken.input_error and broken.attempts == 2
    assert broken.message == "RuntimeError: simulated driver crash (after 2 attempts)"
    assert batch_exit_code([flaky]) == 0 and batch_exit_code([flaky, broken]) == 1


def test_a_shots_export_field_writes_its_formats_and_a_bad_one_fails_before_tracking(cluster, tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    shots = [Shot("exported", TrackJob(plate=plate, grid=2, tracker="chained-flow", export="csv,nuke", out=str(tmp_path / "a"))),
             Shot("mattes", TrackJob(plate=plate, grid=2, tracker="chained-flow", export="mattes", out=str(tmp_path / "b")))]
    exported, mattes = run_batch(shots, ShotResources(retries=0))
    assert exported.status == "done" and {p.suffix for p in (tmp_path / "a" / "export").rglob("*.*")} >= {".csv", ".nk"}
    assert mattes.status == "failed" and mattes.input_error and "omnivfx export RESULTS --format mattes" in mattes.message
    assert not (tmp_path / "b").exists()


def _stage_starts(events: list[dict], shot: str, stage: str) -> int:
    stages = [e["stage"] for e in events if e.get("shot") == shot and "stage" in e]
    return sum(1 for i, name in enumerate(stages) if name == stage and (i == 0 or stages[i - 1] != stage))


def test_a_dense_export_uses_the_shots_fit_and_a_finished_shot_gets_its_missing_export(cluster, tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    job = TrackJob(plate=plate, grid=2, tracker="chained-flow", export="csv,motion", out=str(tmp_path / "a"))
    events: list[dict] = []
    [report] = run_batch([Shot("dense", job)], ShotResources(retries=0), events.append)
    assert report.status == "done" and any((tmp_path / "a" / "export" / "motion").glob("*.exr"))
    assert _stage_starts(events, "dense", "flow") == 1  # exported from the clip just fitted: no reload, no second flow
    assert not (tmp_path / "a" / "work" / "flow").exists()

    shutil.rmtree(tmp_path / "a" / "export")
    changed = dataclasses.replace(job, export="csv", keep_cache=True, device="cpu")  # none of these re-tracks
    [again] = run_batch([Shot("dense", changed)], ShotResources(retries=0))
    assert again.status == "skipped" and "exported now" in again.message
    assert (tmp_path / "a" / "export" / "tracks.csv").is_file()


def test_a_shot_whose_worker_always_dies_fails_after_its_retries(cluster, tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    [report] = run_batch([Shot("doomed", TrackJob(plate=plate, grid=2, tracker="test-killed-always", out=str(tmp_path / "o")))],
                         ShotResources(retries=0))
    assert report.status == "failed" and not report.input_error and report.attempts == 1
    assert report.message.startswith("worker lost on attempt 1 (") and "\n" not in report.message
    assert batch_exit_code([report]) == 1


def test_requests_no_node_can_satisfy_are_refused_at_once(cluster):
    job = TrackJob(plate="unused.%04d.png", grid=2)
    with pytest.raises(InputError, match=r"--cpus-per-shot 4 is more than any node has \(2\)"):
        run_batch([Shot("greedy", job)], ShotResources(cpus=4))


def test_submit_to_ray_relays_progress_stops_and_resumes(cluster, tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    job = TrackJob(plate=plate, grid=3, tracker="test-slow", out=str(tmp_path / "out"))
    stop, events = StopToken(), []

    def on_progress(event: dict) -> None:
        events.append(event)
        if event.get("stage") == "test-slow" and event["step"] >= 3:
            stop.request("artist cancelled")

    with pytest.raises(Interrupted, match="artist cancelled"):
        submit_to_ray(job, on_progress, stop)
    checkpoint = json.loads((tmp_path / "out" / "work" / batch_support.CHECKPOINT).read_text())
    assert 3 <= checkpoint["step"] < 30
    assert {"warning": "no GPU in the Ray cluster; shots run on CPU workers"} in events
    assert {"stage", "step", "total", "eta"} <= set(events[1]) and "shot" not in events[1]

    folder = submit_to_ray(job, events.append)
    assert folder == tmp_path / "out"
    assert load_results(folder).manifest["config"]["tracker"]["resumed_from"] == checkpoint["step"]


def test_stopping_a_batch_checkpoints_running_shots_and_ends_queued_ones(cluster, tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    shots = [Shot(f"slow{i}", TrackJob(plate=plate, grid=2, tracker="test-slow", out=str(tmp_path / f"slow{i}"))) for i in range(3)]
    stop, seen = StopToken(), []

    def on_event(event: dict) -> None:
        seen.append(event)
        if event.get("stage") == "test-slow" and event["step"] >= 2:
            stop.request("received SIGTERM")

    reports = run_batch(shots, ShotResources(cpus=1), on_event, stop)
    assert [r.status for r in reports] == ["interrupted"] * 3 and batch_exit_code(reports) == 3
    assert all("received SIGTERM" in r.message for r in reports)
    started_work = {e["shot"] for e in seen if e.get("stage") == "test-slow"}
    assert len(started_work) <= 2  # 2 CPUs: the third shot was queued and ended without working
    for shot in started_work:
        assert (tmp_path / shot / "work" / batch_support.CHECKPOINT).is_file()
