"""Flow fusion (fusion/link_fusion.py) on a clip with exact ground truth: a textured square slides across a
translating background, hides background points for several frames and uncovers them again.

The correspondences are the exact flows of the log pair schedule with 0.1 px of noise; where a background
pixel is hidden in the target frame the flow follows the square instead (as a flow estimator's does) and the
pair marks it invalid. The fused tracks must mark the hidden frames occluded, stay off the square and re-find
the points after it passed (only links that jump over the occlusion can)."""

import numpy as np
import pytest

from flow_scene import gt_flow, sliding_square_clip
from omnimotion_vfx.flow.correspondences import Correspondences, PairFlow
from omnimotion_vfx.flow.schedule import pair_schedule
from omnimotion_vfx.fusion import FlowFusion
from omnimotion_vfx.tracking.presets import run_preset

FRAMES, SIZE, BG, FG, SQUARE = 16, 96, (1, 0), (4, 0), 20


def noisy_exact_correspondences(masks: np.ndarray) -> Correspondences:
    rng = np.random.default_rng(0)
    pairs = {}
    for i, j in pair_schedule(FRAMES, "log"):
        flow, visible = gt_flow(i, j, (SIZE, SIZE), BG, FG, masks)
        hidden = ~visible & ~masks[i]
        flow[hidden] = np.multiply(FG, j - i)  # slides onto the square
        flow += rng.normal(0, 0.1, flow.shape).astype(np.float32)
        pairs[(i, j)] = PairFlow(i, j, flow.astype(np.float16), visible)
    return Correspondences(FRAMES, (SIZE, SIZE), pairs)


@pytest.fixture(scope="module")
def scene():
    _, masks = sliding_square_clip(FRAMES, SIZE, BG, FG, SQUARE, seed=3)
    ys = np.arange(SIZE // 2 - 6, SIZE // 2 + 7, 4) + 0.5
    xs = np.arange(32, 49, 4) + 0.5  # background ahead of the square: covered mid-clip, uncovered later
    xy = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    truth = xy[:, None] + np.arange(FRAMES)[None, :, None] * np.asarray(BG, float)
    cols = np.clip(truth[..., 0].astype(int), 0, SIZE - 1)
    rows = np.clip(truth[..., 1].astype(int), 0, SIZE - 1)
    visible = ~masks[np.arange(FRAMES)[None], rows, cols]
    return noisy_exact_correspondences(masks), xy, truth, visible


def test_fusion_marks_the_hidden_frames_and_refinds_the_points(scene):
    corr, xy, truth, gt_visible = scene
    assert (~gt_visible).any(axis=1).all() and gt_visible[:, -1].all()  # every point hides and comes back
    still = np.repeat(xy[:, None], FRAMES, 1).astype(np.float32)
    tracks, visible = FlowFusion(corr, run_preset("preview").fusion.without_model()).refine(
        np.zeros(len(xy), np.int64), still, np.ones(still.shape[:2], bool))
    error = np.linalg.norm(tracks - truth, axis=-1)
    hidden, shown = ~gt_visible, gt_visible
    assert (~visible[hidden]).mean() > 0.9, "occluded frames marked visible"
    assert (error[shown] < 0.5).mean() > 0.95, np.round(error, 1)
    uncovered = shown & (np.cumsum(hidden, axis=1) > 0)  # visible again after hiding
    assert (error[uncovered] < 0.5).mean() > 0.9 and visible[uncovered].mean() > 0.9
    assert np.median(error[hidden]) < 3.0  # carried smoothly through the occlusion, not left behind


def test_fusion_holds_the_flows_once_in_their_own_float16(scene):
    corr = scene[0]
    originals = {key: pair.flow.copy() for key, pair in corr.pairs.items()}
    fusion = FlowFusion(corr, run_preset("preview").fusion)
    assert fusion.flows.dtype == np.float16 and len(fusion.flows) == len(corr.pairs)
    for key, pair in corr.pairs.items():
        assert np.shares_memory(pair.flow, fusion.flows) and np.array_equal(pair.flow, originals[key])
