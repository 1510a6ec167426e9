"""`load_fitted`: a results folder's fitted clip comes back from its manifest alone, re-using the folder's flow
cache and engine checkpoint (nothing refits), and answers as the original fit did."""

import json

import cv2
import numpy as np
import pytest

from engine_clips import translating_clip
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.results import load_results
from omnimotion_vfx.tracking import TrackJob, load_fitted, run_track_job


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


def test_a_manifest_without_its_job_is_one_clear_error(results):
    manifest = json.loads((results / "manifest.json").read_text())
    del manifest["config"]["job"]
    (results / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="manifest.json holds no job"):
        load_fitted(results)
