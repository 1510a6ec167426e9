"""The `fast` preset (issue 6): single-depth lifting, feature-grid couplings, and the CLI contract with it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from engine_clips import SHIFT, exact_correspondences, translating_clip
from omnimotion_vfx.engine import fit, preset
from omnimotion_vfx.engine.config import BijectionConfig
from omnimotion_vfx.engine.grid_bijection import GridBijection
from omnimotion_vfx.engine.single_depth import SingleDepthModel

OMNIVFX = [sys.executable, "-c", "from omnivfx_cli.main import main; main()"]
TINY_FAST = {"latent.dim": 8, "bijection.layers": 4, "bijection.hidden": 16, "bijection.grid_levels": 3,
             "sampler.pairs_per_step": 8, "sampler.points_per_pair": 128, "sampler.error_cache_every": 40,
             "trainer.checkpoint_every": 20, "device": "cpu"}


def test_single_depth_model_overfits_translating_clip():
    frames, size = 8, 32
    video = translating_clip(frames, size)
    config = preset("fast").with_overrides({**TINY_FAST, "trainer.steps": 120, "trainer.decay_every": 80})
    tracker = fit(video, exact_correspondences(frames, size), config)
    assert isinstance(tracker.model, SingleDepthModel)
    ys, xs = np.mgrid[8:24:4, 8:24:4] + 0.5
    xy = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    tracks, _ = tracker.track_internal(np.full(len(xy), 3), xy)
    truth = xy[:, None] - SHIFT * (np.arange(frames)[None, :, None] - 3)
    error = np.linalg.norm(tracks - truth, axis=-1)
    assert np.median(error) < 1.0, np.median(error, axis=0)
    assert error.max() < 3.0
    assert tracker.history[-1][1] < 0.5 * tracker.history[0][1]


@torch.no_grad()
def test_grid_bijection_round_trip_below_1e4():
    torch.manual_seed(0)
    bij = GridBijection(16, BijectionConfig(layers=6, hidden=32, kind="grid"))
    for layer in bij.layers:  # the last layers start at zero (identity): give them fitted-like weights
        layer.head[-1].weight.normal_(0, 0.3)
        layer.head[-1].bias.normal_(0, 0.1)
    codes = torch.randn(5, 16)
    x = torch.rand(4096, 1, 3) * 2 - 1
    frames = torch.randint(0, 5, (4096,))
    y = bij(x, frames, codes)
    assert float((y - x).abs().mean()) > 0.05  # the map really moves points
    assert float((bij.inverse(y, frames, codes) - x).abs().max()) < 1e-4


def test_cli_track_with_fast_preset_writes_contract_results(tmp_path: Path):
    for i, frame in enumerate(translating_clip(6, 32)):
        cv2.imwrite(str(tmp_path / f"plate.{1001 + i:04d}.png"), frame[..., ::-1])
    out = tmp_path / "out"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMNIVFX_ENGINE_OVERRIDES=json.dumps({**TINY_FAST, "trainer.steps": 10}))
    run = subprocess.run(OMNIVFX + ["track", str(tmp_path / "plate.%04d.png"), "--tracker", "omnimotion", "--preset", "fast",
                                    "--grid", "3", "--out", str(out), "--device", "cpu"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with np.load(out / "tracks.npz") as data:
        assert data["frames"].tolist() == list(range(1001, 1007))
        assert data["tracks"].shape == (9, 6, 2) and data["tracks"].dtype == np.float32
        assert data["visible"].shape == (9, 6) and data["visible"].dtype == bool
        assert np.isfinite(data["tracks"]).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tracker"] == "omnimotion" and manifest["preset"] == "fast"
    engine = manifest["config"]["tracker"]["engine"]
    assert engine["render"]["lifting"] == "single_depth" and engine["bijection"]["kind"] == "grid"
    assert (out / "work" / "engine" / "checkpoint.pt").exists()


def test_fit_on_a_plate_whose_size_is_not_a_multiple_of_the_error_grid():
    """480x270 plates crashed the hard-mining refresh (a 4-px error grid covered 268 of 270 rows)."""
    from omnimotion_vfx.flow.correspondences import Correspondences, PairFlow

    frames, size, height = 6, 32, 30
    square = exact_correspondences(frames, size)
    pairs = {key: PairFlow(p.i, p.j, p.flow[:height].copy(), p.valid[:height].copy()) for key, p in square.pairs.items()}
    correspondences = Correspondences(frames, (size, height), pairs, params=square.params)
    config = preset("fast").with_overrides({**TINY_FAST, "trainer.steps": 45})
    tracker = fit(translating_clip(frames, size)[:, :height], correspondences, config)
    assert tracker.history[-1][0] >= TINY_FAST["sampler.error_cache_every"]  # past a refresh of the error cache
