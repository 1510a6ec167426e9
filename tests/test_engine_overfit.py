"""The model alone (no flow fusion) fits a tiny clip with known motion to about a pixel."""

import numpy as np

from engine_clips import SHIFT, exact_correspondences, tiny_config, translating_clip
from omnimotion_vfx.engine import fit
from omnimotion_vfx.motion.config import MotionConfig
from omnimotion_vfx.motion.seeding import seed_field
from omnimotion_vfx.tracking.fused_tracker import fit_fused
from omnimotion_vfx.tracking.presets import run_preset


def test_overfits_translating_texture():
    frames, size = 8, 32
    video = translating_clip(frames, size)
    config = tiny_config(steps=150).with_overrides({"trainer.lr_bijection": 5e-3})
    tracker = fit(video, exact_correspondences(frames, size), config)
    ys, xs = np.mgrid[8:24:4, 8:24:4] + 0.5
    xy = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    tracks, visible = tracker.track_internal(np.full(len(xy), 3), xy)
    truth = xy[:, None] - SHIFT * (np.arange(frames)[None, :, None] - 3)
    error = np.linalg.norm(tracks - truth, axis=-1)
    assert np.median(error) < 1.0, np.median(error, axis=0)
    assert error.max() < 3.0
    assert tracker.history[-1][1] < tracker.history[0][1]


def test_the_motion_field_carries_points_with_the_flow():
    frames, size = 8, 32
    video = translating_clip(frames, size)
    corr = exact_correspondences(frames, size)
    ys, xs = np.mgrid[10:22:3, 10:22:3] + 0.5
    xy = np.stack([xs.ravel(), ys.ravel()], 1)
    truth = xy - SHIFT * 3
    fused = fit_fused(video, corr, tiny_config(steps=5), run_preset("test").fusion)  # barely fitted: the flow carries
    field = seed_field(fused.track_nodes, frames, (size, size), fused.adjacent_flow(), MotionConfig(node_spacing_px=64.0))
    moved, visible = field.map(1, xy.astype(np.float32), 4)
    assert np.abs(moved - truth).max() < 0.05 and visible.all()
    same, _ = field.map(2, xy.astype(np.float32), 2)
    np.testing.assert_allclose(same, xy, atol=1e-5)
