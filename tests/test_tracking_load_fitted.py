"""`load_fitted`: a results folder's fitted clip comes back from its manifest alone (the job and the engine
overrides recorded there, not today's environment), re-using the folder's flow cache and engine checkpoint, and
answers as the original fit did. It never trains: a folder without its fit is one InputError, and the
checkpoint is left as it was. The stored motion field follows the fit it was seeded from."""

import json

import cv2
import numpy as np
import pytest

from engine_clips import translating_clip
from fs_support import read_only_folder
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.progress import NullProgress
from omnimotion_vfx.results import load_results
from omnimotion_vfx.job_runner import run_track_job
from omnimotion_vfx.tracking import TrackJob, load_fitted


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIVFX_ENGINE_OVERRIDES", json.dumps({"trainer.steps": 8}))
    for i, frame in enumerate(translating_clip(6, 32)):
        cv2.imwrite(str(tmp_path / f"plate.{1001 + i:04d}.png"), frame[..., ::-1])
    job = TrackJob(plate=str(tmp_path / "plate.%04d.png"), grid=3, grid_frame=1002, out=str(tmp_path / "out"),
                   preset="test", device="cpu")
    return run_track_job(job)


def test_reloads_without_refitting_and_answers_the_same(results):
    checkpoint = results / "work" / "engine" / "checkpoint.pt"
    written = checkpoint.stat().st_mtime_ns
    stored = load_results(results)
    fitted = load_fitted(results)
    assert checkpoint.stat().st_mtime_ns == written  # reloaded, not trained (a fit saves checkpoints)
    assert fitted.out_dir == results and fitted.job.grid is None and fitted.job.grid_frame is None
    assert fitted.tracker.fusion is not None and fitted.tracker.fit_summary["steps_done"] == 8
    tracks, visible = fitted.tracker(stored.query_points)
    np.testing.assert_array_equal(tracks, stored.tracks)
    np.testing.assert_array_equal(visible, stored.visible)


def _checkpoint_state(results):
    checkpoint = results / "work" / "engine" / "checkpoint.pt"
    return checkpoint.read_bytes(), checkpoint.stat().st_mtime_ns


def test_the_recorded_overrides_win_over_the_environment(results, monkeypatch):
    assert json.loads((results / "manifest.json").read_text())["config"]["overrides"] == {"trainer.steps": 8}
    before = _checkpoint_state(results)
    monkeypatch.setenv("OMNIVFX_ENGINE_OVERRIDES", json.dumps({"trainer.steps": 30}))  # would continue the fit
    fitted = load_fitted(results)
    assert _checkpoint_state(results) == before
    assert fitted.overrides == {"trainer.steps": 8} and fitted.tracker.fit_summary["steps_done"] == 8


class _Stages(NullProgress):
    def __init__(self) -> None:
        super().__init__()
        self.begun: list[str] = []

    def begin(self, stage: str, total: int) -> None:
        self.begun.append(stage)


def test_a_missing_checkpoint_is_one_error_and_no_fit(results):
    (results / "work" / "engine" / "checkpoint.pt").unlink()
    stages = _Stages()
    with pytest.raises(InputError, match=r"has no fit to reload \(no engine checkpoint in .*nothing was refitted"):
        load_fitted(results, stages)
    assert not (results / "work" / "engine" / "checkpoint.pt").exists()
    assert stages.begun == [] and not (results / "work" / "flow").exists()  # found before reading the plate or the flow


def test_export_after_clean_all_fails_at_once_without_reading_the_plate(results, run_omnivfx):
    assert run_omnivfx("clean", results, "--all").returncode == 0
    done = run_omnivfx("export", results, "--format", "motion", "--json-progress")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "has no fit to reload (no engine checkpoint in" in done.stderr and "--out NEW" in done.stderr
    assert '"stage"' not in done.stdout and not (results / "work" / "flow").exists()


def test_a_read_only_folder_reload_says_what_to_do_for_export(results, run_omnivfx):
    with read_only_folder(results):
        done = run_omnivfx("export", results, "--format", "motion")
        tracks_only = run_omnivfx("export", results, "--format", "csv", "--out", results.parent / "csv")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"cannot write results to {results}" in done.stderr and "export track formats only" in done.stderr
    assert "--out" not in done.stderr
    assert tracks_only.returncode == 0, tracks_only.stderr


def test_a_checkpoint_of_other_settings_is_left_alone(results):
    manifest = json.loads((results / "manifest.json").read_text())
    manifest["config"]["overrides"]["trainer.seed"] = 7  # a fit setting: another fit would be needed
    (results / "manifest.json").write_text(json.dumps(manifest))
    before = _checkpoint_state(results)
    with pytest.raises(InputError, match="fitted on other plate pixels, flow or engine settings"):
        load_fitted(results)
    assert _checkpoint_state(results) == before


def test_the_stored_motion_field_is_reseeded_only_when_the_fit_changes(results):
    field = results / "work" / "motion" / "field.npz"
    recorded = load_results(results).manifest["config"]["tracker"]["fit"]["fit_id"]
    fitted = load_fitted(results)
    assert fitted.tracker_config["fit"]["fit_id"] == recorded  # a reload is the same fit
    fitted.motion()
    seeded = field.stat().st_mtime_ns
    load_fitted(results).motion()
    assert field.stat().st_mtime_ns == seeded  # same fit: the stored field is reloaded
    refitted = load_fitted(results)
    refitted.tracker_config["fit"]["fit_id"] = "another fit"  # what a new fit of the same settings reports
    refitted.motion()
    assert field.stat().st_mtime_ns != seeded


def test_a_manifest_without_its_job_is_one_clear_error(results):
    manifest = json.loads((results / "manifest.json").read_text())
    del manifest["config"]["job"]
    (results / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="manifest.json holds no job"):
        load_fitted(results)
