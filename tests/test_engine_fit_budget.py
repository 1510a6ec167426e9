"""A deadline for the fit (`trainer.time_budget_s`, `omnivfx track --fit-minutes`): the fit ends at the budget
with its tracks, says so in the manifest, reloads without training, and a larger budget continues it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2

from engine_clips import exact_correspondences, tiny_config, translating_clip
from omnimotion_vfx.engine import fit
from omnimotion_vfx.progress import StopToken

OMNIVFX = [sys.executable, "-c", "from omnivfx_cli.main import main; main()"]


class NoTraining(StopToken):
    """Fails the test if the fit loop runs a step: a reload must not train."""

    @property
    def requested(self) -> bool:
        raise AssertionError("the fit trained although its budget was spent")


def test_budget_ends_the_fit_and_a_larger_one_continues_it(tmp_path):
    video = translating_clip(6, 24)
    corr = exact_correspondences(6, 24, max_gap=2)
    config = tiny_config(steps=1_000_000).with_overrides({"trainer.time_budget_s": 0.5, "trainer.checkpoint_every": 5})

    first = fit(video, corr, config, work_dir=tmp_path)
    summary = first.fit_summary
    assert summary["ended_by"] == "time budget"
    assert 0 < summary["steps_done"] < 1_000_000 and summary["fit_seconds"] >= 0.5
    assert any("time budget" in event["event"] for event in first.events)

    again = fit(video, corr, config, work_dir=tmp_path, stop=NoTraining())
    assert again.fit_summary["steps_done"] == summary["steps_done"]

    longer = fit(video, corr, config.with_overrides({"trainer.time_budget_s": 1.5}), work_dir=tmp_path)
    assert longer.fit_summary["steps_done"] > summary["steps_done"]
    assert longer.fit_summary["fit_seconds"] >= 1.5
    assert [s for s, _ in longer.history] == list(range(longer.fit_summary["steps_done"]))


def test_schedule_end_is_reported_when_the_budget_is_not_reached(tmp_path):
    video = translating_clip(6, 24)
    corr = exact_correspondences(6, 24, max_gap=2)
    tracker = fit(video, corr, tiny_config(steps=6).with_overrides({"trainer.time_budget_s": 600.0}), work_dir=tmp_path)
    assert tracker.fit_summary["ended_by"] == "schedule" and tracker.fit_summary["steps_done"] == 6


def _plate(folder: Path) -> str:
    for i, frame in enumerate(translating_clip(6, 32)):
        cv2.imwrite(str(folder / f"plate.{1001 + i:04d}.png"), frame[..., ::-1])
    return str(folder / "plate.%04d.png")


def test_cli_fit_minutes_cuts_the_fit_and_records_it(tmp_path):
    plate, out = _plate(tmp_path), tmp_path / "out"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMNIVFX_ENGINE_OVERRIDES=json.dumps({"trainer.steps": 1_000_000}))
    run = subprocess.run(OMNIVFX + ["track", plate, "--preset", "test", "--grid", "2", "--out", str(out), "--device", "cpu",
                                    "--fit-minutes", "0.01"], env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["job"]["fit_minutes"] == 0.01
    fitted = manifest["config"]["tracker"]["fit"]
    assert fitted["ended_by"] == "time budget" and 0 < fitted["steps_done"] < 1_000_000
    assert manifest["config"]["tracker"]["engine"]["trainer"]["time_budget_s"] == 0.6


def test_cli_rejects_a_budget_that_is_not_above_zero(tmp_path):
    plate = _plate(tmp_path)
    run = subprocess.run(OMNIVFX + ["track", plate, "--preset", "test", "--grid", "2", "--out", str(tmp_path / "o"),
                                    "--fit-minutes", "-1"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "fit_minutes (--fit-minutes) must be a number of minutes above 0" in run.stderr and "Traceback" not in run.stderr
