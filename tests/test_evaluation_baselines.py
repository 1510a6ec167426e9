"""The paper's flow baselines as the benchmark builds them, and the benchmark script end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from omnimotion_vfx.clip_geometry import ClipGeometry
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.evaluation.baselines import DirectFlowTracker, build_evaluation_tracker, evaluation_tracker_names
from omnimotion_vfx.evaluation.runner import evaluate, prepare_clip
from omnimotion_vfx.evaluation.suite import SUITES
from omnimotion_vfx.evaluation.synthetic import SceneParams, build_scene, render, sample_points
from omnimotion_vfx.flow.chained_tracker import ChainedFlowTracker
from omnimotion_vfx.progress import NullProgress, StopToken
from omnimotion_vfx.tracking.registry import TrackerContext, tracker_names

ROOT = Path(__file__).resolve().parents[1]


def test_direct_flow_follows_a_camera_pan_to_subpixel_accuracy():
    scene = build_scene(SceneParams(seed=9, width=96, height=96, frames=10, objects=0, camera_speed=1.5,
                                    camera_roll=0.0, camera_zoom=0.0, camera_shake=0.0))
    video = render(scene)
    points = sample_points(scene, 30, seed=0, frame=4)
    geometry = ClipGeometry(tuple(range(1001, 1011)))
    queries = points.queries + (1001, 0, 0)
    tracks, visible = DirectFlowTracker(video, geometry)(queries)
    both = visible & points.visible
    assert both.mean() > 0.6
    assert np.median(np.linalg.norm(tracks - points.tracks, axis=-1)[both]) < 0.5


def test_direct_flow_cycle_check_flags_occlusion(tmp_path: Path):
    clip = prepare_clip(SUITES["tiny"][1])
    geometry = ClipGeometry(tuple(range(1001, 1001 + len(clip.video))))
    _, visible = DirectFlowTracker(clip.video, geometry)(clip.points.queries + (1001, 0, 0))
    gt = clip.points.visible
    assert (~visible[~gt]).mean() > (~visible[gt]).mean() + 0.2


def test_evaluation_registry_adds_direct_flow_without_touching_the_product(tmp_path: Path):
    assert "direct-flow" in evaluation_tracker_names() and "chained-flow" in evaluation_tracker_names()
    assert "direct-flow" not in tracker_names()
    video = render(build_scene(SceneParams(seed=1, width=64, height=64, frames=4)))
    context = TrackerContext(tmp_path, "paper", "cpu", NullProgress(), StopToken())
    chained, config = build_evaluation_tracker("chained-flow", video, ClipGeometry((1, 2, 3, 4)), context)
    assert isinstance(chained, ChainedFlowTracker) and config["occlusion_cycle_px"] == 48.0
    direct, config = build_evaluation_tracker("direct-flow", video, ClipGeometry((1, 2, 3, 4)), context)
    assert isinstance(direct, DirectFlowTracker) and config["occlusion_cycle_px"] == 48.0
    with pytest.raises(InputError):
        build_evaluation_tracker("no-such-tracker", video, ClipGeometry((1, 2, 3, 4)), context)


def test_evaluate_scores_a_tracker_on_a_clip():
    clip = prepare_clip(SUITES["tiny"][0])
    row = evaluate(clip, "chained-flow")
    assert row["clip"] == "tiny-a" and row["queries"] == len(clip.points.queries) > 20
    assert 30 < row["AJ"] <= 100 and 50 < row["OA"] <= 100 and row["TC"] >= 0 and row["seconds"] > 0


def test_accuracy_benchmark_prints_one_table_with_both_baselines(tmp_path: Path):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--suite", "tiny", "--clips", "1",
                          "--tracker", "chained-flow", "--query-mode", "strided", "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("| tiny-a (16f 128x128) | chained-flow |") for line in lines)
    assert any(line.startswith("| tiny-a (16f 128x128) | direct-flow |") for line in lines)
    assert sum(line.startswith("| **median**") for line in lines) == 2
    result = json.loads(next(tmp_path.glob("accuracy_tiny_*.json")).read_text())
    assert [r["tracker"] for r in result["rows"]] == ["chained-flow", "direct-flow"]
    bad = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--suite", "tiny", "--tracker", "nope",
                          "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "unknown tracker 'nope'" in bad.stderr


def test_accuracy_benchmark_runs_a_tracker_at_its_own_preset_beside_the_baselines(tmp_path: Path):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--suite", "tiny", "--clips", "1",
                          "--tracker", "chained-flow:paper", "--query-mode", "strided", "--out", str(tmp_path)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(next(tmp_path.glob("accuracy_tiny_*.json")).read_text())
    # chained-flow named with its own preset is not a baseline run; both baselines still run at --preset
    assert [r["tracker"] for r in result["rows"]] == ["chained-flow:paper", "direct-flow"]
    medians = [line for line in run.stdout.splitlines() if line.startswith("| **median**")]
    assert len(medians) == 2 and "| chained-flow:paper |" in medians[0] and "| direct-flow |" in medians[1]
