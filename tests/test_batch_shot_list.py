"""Shot lists (TOML/YAML/JSON), the finished-with-same-settings test, the summary table and exit codes."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from omnimotion_vfx.batch.completion import finished_results
from omnimotion_vfx.batch.runner import ShotReport, batch_exit_code
from omnimotion_vfx.batch.shot_list import load_shot_list
from omnimotion_vfx.batch.summary import format_summary
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.job_runner import run_track_job
from omnimotion_vfx.tracking.job import TrackJob

sys.path.insert(0, str(Path(__file__).parent))
import batch_support  # noqa: E402

TOML = """\
[defaults]
tracker = "chained-flow"
grid = 8
preset = "fast"

[[shots]]
name = "sh010"
plate = "sh010/plate.%04d.exr"
frames = "1001-1048"

[[shots]]
plate = "/abs/sh020/plate.####.exr"
queries = "sh020/points.csv"
out = "results/sh020"
"""

YAML = """\
defaults: {tracker: chained-flow, grid: 8, preset: fast}
shots:
  - {name: sh010, plate: sh010/plate.%04d.exr, frames: 1001-1048}
  - {plate: /abs/sh020/plate.####.exr, queries: sh020/points.csv, out: results/sh020}
"""


def test_toml_yaml_and_json_give_the_same_jobs(tmp_path):
    (tmp_path / "shots.toml").write_text(TOML)
    (tmp_path / "shots.yaml").write_text(YAML)
    toml_shots = load_shot_list(tmp_path / "shots.toml")
    data = {"defaults": {"tracker": "chained-flow", "grid": 8, "preset": "fast"},
            "shots": [{"name": "sh010", "plate": "sh010/plate.%04d.exr", "frames": "1001-1048"},
                      {"plate": "/abs/sh020/plate.####.exr", "queries": "sh020/points.csv", "out": "results/sh020"}]}
    (tmp_path / "shots.json").write_text(json.dumps(data))
    assert load_shot_list(tmp_path / "shots.yaml") == toml_shots == load_shot_list(tmp_path / "shots.json")

    first, second = toml_shots
    assert first.name == "sh010" and first.job.plate == str(tmp_path / "sh010/plate.%04d.exr")
    assert (first.job.grid, first.job.preset, first.job.frames, first.job.out) == (8, "fast", "1001-1048", None)
    assert second.name == "/abs/sh020/plate.####.exr"  # no name: the plate labels the shot
    assert second.job.queries == str(tmp_path / "sh020/points.csv") and second.job.grid is None  # own queries win
    assert second.job.out == str(tmp_path / "results/sh020")


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("a.toml", "[[shots]]\nplate = 'p.%04d.exr'\nspeed = 2\n", "unknown field(s) speed"),
        ("a.toml", "[[shots]]\nframes = '1-2'\n", "'plate' is required"),
        ("a.toml", "shots = [\n", "is not valid TOML"),
        ("a.yaml", "shots: [plate: x\n", "is not valid YAML"),
        ("a.json", '{"defaults": {}}', "expected a 'shots' list"),
        ("a.json", '{"shots": [{"plate": "x"}], "retries": 3}', "unknown top-level key(s) retries"),
        ("a.toml", "[[shots]]\nname='a'\nplate='x'\n[[shots]]\nname='a'\nplate='y'\n", "two shots are named 'a'"),
        ("a.toml", "[[shots]]\nplate='x'\nout='o'\n[[shots]]\nplate='y'\nout='./o'\n", "write to the same out folder"),
        ("a.txt", "plate x", "unknown shot list format '.txt'"),
    ],
)
def test_bad_shot_lists_are_one_line_input_errors(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError) as caught:
        load_shot_list(tmp_path / name)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_missing_shot_list_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read shot list"):
        load_shot_list(tmp_path / "nope.toml")


def test_finished_results_needs_the_same_job_and_the_same_queries(tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    points = tmp_path / "points.csv"
    points.write_text("frame,x,y\n1001,20.5,30.5\n1002,40,12\n")
    job = TrackJob(plate=plate, queries=str(points), out=str(tmp_path / "out"), tracker="chained-flow")
    assert finished_results(job) is None  # nothing written yet
    run_track_job(job)
    assert finished_results(job) == tmp_path / "out"
    assert finished_results(dataclasses.replace(job, frames="1001-1005")) is None
    points.write_text("frame,x,y\n1001,20.5,30.5\n1002,41,12\n")  # edited in place: same path, other queries
    assert finished_results(job) is None
    with pytest.raises(InputError, match="no files match"):
        finished_results(TrackJob(plate=str(tmp_path / "none.%04d.png"), grid=2))


def test_export_keep_cache_and_device_do_not_make_a_finished_shot_unfinished(tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    job = TrackJob(plate=plate, grid=2, out=str(tmp_path / "out"), tracker="chained-flow")
    run_track_job(job)
    for change in ({"export": "nuke"}, {"keep_cache": True}, {"device": "cpu"}):
        assert finished_results(dataclasses.replace(job, **change)) == tmp_path / "out", change
    assert finished_results(dataclasses.replace(job, proxy=0.5)) is None  # a setting of the tracks still re-tracks


def test_a_manifest_from_before_a_job_field_existed_counts_as_that_fields_default(tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    job = TrackJob(plate=plate, grid=2, out=str(tmp_path / "out"), tracker="chained-flow")
    run_track_job(job)
    manifest_path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["config"]["job"]["deterministic"]  # as written before --deterministic
    manifest_path.write_text(json.dumps(manifest))
    assert finished_results(job) == tmp_path / "out"
    assert finished_results(dataclasses.replace(job, deterministic=True)) is None  # a deterministic fit is another fit


def test_summary_table_and_exit_codes():
    done = ShotReport("sh010", "done", 12.345, "", "/show/out/sh010", 1)
    skipped = ShotReport("sh020_long_name", "skipped", 0.04, "finished earlier with the same settings", "/o", 1)
    bad = ShotReport("sh030", "failed", 0.1, "no files match x.%04d.exr", "", 1, input_error=True)
    lost = ShotReport("sh040", "failed", None, "worker lost on attempt 3", "", 3)
    stopped = ShotReport("sh050", "interrupted", 3.0, "interrupted: received SIGTERM", "", 1)
    table = format_summary([done, skipped, bad, lost]).splitlines()
    assert table[0].split() == ["shot", "status", "seconds", "message"]
    assert table[2].split() == ["sh010", "done", "12.3", "/show/out/sh010"]
    assert table[5].split()[:3] == ["sh040", "failed", "-"]
    assert table[-1] == "4 shots: 1 done, 2 failed, 1 skipped"
    column = table[0].index("status")  # columns line up
    assert [line[column:].split()[0] for line in table[2:6]] == ["done", "skipped", "failed", "failed"]
    assert [batch_exit_code(r) for r in ([done, skipped], [done, bad], [bad, lost], [done, stopped], [bad, stopped])] == [0, 2, 1, 3, 2]
