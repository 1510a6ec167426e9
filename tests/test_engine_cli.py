"""`omnivfx track --tracker omnimotion` end to end on a real PNG plate: the results folder contract, and
SIGTERM mid-fit exits 3 with a checkpoint that the next run resumes from."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from engine_clips import translating_clip

OMNIVFX = [sys.executable, "-c", "from omnivfx_cli.main import main; main()"]


def _plate(folder: Path, frames: int = 6) -> str:
    for i, frame in enumerate(translating_clip(frames, 32)):
        cv2.imwrite(str(folder / f"plate.{1001 + i:04d}.png"), frame[..., ::-1])
    return str(folder / "plate.%04d.png")


def _env(**overrides) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    if overrides:
        env["OMNIVFX_ENGINE_OVERRIDES"] = json.dumps(overrides)
    return env


def test_results_folder_matches_contract(tmp_path):
    plate, out = _plate(tmp_path), tmp_path / "out"
    run = subprocess.run(OMNIVFX + ["track", plate, "--tracker", "omnimotion", "--preset", "test", "--grid", "3",
                                    "--out", str(out), "--device", "cpu"], env=_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with np.load(out / "tracks.npz") as data:
        assert data["frames"].tolist() == list(range(1001, 1007))
        assert data["tracks"].shape == (9, 6, 2) and data["tracks"].dtype == np.float32
        assert data["visible"].shape == (9, 6) and data["visible"].dtype == bool
        assert data["query_points"].shape == (9, 3)
        assert np.isfinite(data["tracks"]).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tracker"] == "omnimotion" and manifest["preset"] == "test"
    assert manifest["config"]["tracker"]["engine"]["render"]["samples"] == 4
    assert manifest["config"]["tracker"]["fusion"]["enabled"] and "refine" not in manifest["config"]["tracker"]["engine"]["inference"]
    assert (out / "work" / "engine" / "checkpoint.pt").exists()


def test_sigterm_mid_fit_exits_3_and_the_rerun_resumes(tmp_path):
    plate, out = _plate(tmp_path), tmp_path / "out"
    args = OMNIVFX + ["track", plate, "--tracker", "omnimotion", "--preset", "test", "--grid", "2", "--out", str(out),
                      "--device", "cpu", "--json-progress"]
    proc = subprocess.Popen(args, env=_env(**{"trainer.steps": 100000, "trainer.checkpoint_every": 1000}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        event = json.loads(line)
        if event["stage"] == "fit" and event["step"] >= 2:
            proc.send_signal(signal.SIGTERM)
            break
    assert proc.wait(timeout=60) == 3
    assert "run the same command again to resume" in proc.stderr.read()
    stopped = torch.load(out / "work" / "engine" / "checkpoint.pt", weights_only=False)["step"]
    assert stopped >= 2

    rerun = subprocess.run(args, env=_env(**{"trainer.steps": stopped + 3, "trainer.checkpoint_every": 1000}),
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    state = torch.load(out / "work" / "engine" / "checkpoint.pt", weights_only=False)
    assert state["done"] and state["step"] == stopped + 3
    assert {"step": stopped, "event": f"resumed from the checkpoint of step {stopped}"} in state["events"]
    assert (out / "tracks.npz").exists()
