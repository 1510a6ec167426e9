"""Cycle, reliable-occluded and appearance filters on synthetic pairs with exact ground truth."""

import numpy as np

from flow_scene import gt_flow, sliding_square_clip
from omnimotion_vfx.flow import FlowConfig, compute_correspondences
from omnimotion_vfx.flow.appearance import appearance_agrees
from omnimotion_vfx.flow.cycle_consistency import consistent_mask, cycle_offset, occluded_reliable_mask

BG, FG = (2, 1), (8, 0)


def test_cycle_filter_keeps_correct_matches_and_rejects_the_occluded_strip():
    video, masks = sliding_square_clip(frames=3, size=96, bg_step=BG, fg_step=FG)
    pair = compute_correspondences(video, FlowConfig(sparse=False)).pairs[(0, 1)]
    truth, visible = gt_flow(0, 1, (96, 96), BG, FG, masks)
    error = np.linalg.norm(pair.flow.astype(np.float32) - truth, axis=2)
    assert pair.valid.mean() > 0.9
    assert (error[pair.valid] < 1.0).mean() > 0.97
    hidden = ~visible  # covered by the square in frame 1, or out of frame
    assert hidden.sum() > 300
    assert pair.valid[hidden].mean() < 0.1


def test_reliable_occluded_marks_background_swallowed_by_an_occluder():
    # 1-D scene along x: background moves +2, an occluder occupying x in [40, 60) moves +7 and covers
    # background pixels [60, 65) in frame j; their backward flow follows the occluder.
    h, w = 8, 100
    f_ij = np.zeros((h, w, 2), np.float32)
    f_ji = np.zeros((h, w, 2), np.float32)
    f_ij[..., 0] = 2
    f_ij[:, 40:60, 0] = 7
    f_ji[..., 0] = -2
    f_ji[:, 47:67, 0] = -7
    back, inside = cycle_offset(f_ij, f_ji)
    occluded = occluded_reliable_mask(f_ij, back, inside, 4.5, 3.0)
    consistent = consistent_mask(back, inside, 3.0)
    assert occluded[:, 60:65].all()
    assert not occluded[:, :40].any() and not occluded[:, 66:].any()
    assert consistent[:, :40].all() and consistent[:, 40:60].all() and not consistent[:, 60:65].any()


def test_appearance_check_accepts_the_true_match_and_rejects_a_wrong_one():
    video, masks = sliding_square_clip(frames=2, size=96, bg_step=BG, fg_step=FG)
    gray = [np.dot(f.astype(np.float32), [0.299, 0.587, 0.114]).astype(np.float32) for f in video]
    truth, visible = gt_flow(0, 1, (96, 96), BG, FG, masks)
    interior = np.zeros_like(visible)
    interior[8:-8, 8:-8] = True
    interior &= visible
    right = appearance_agrees(gray[0], gray[1], truth, 3, 0.5)
    wrong = appearance_agrees(gray[0], gray[1], truth + np.float32([5, 3]), 3, 0.5)
    assert right[interior].mean() > 0.95
    assert wrong[interior].mean() < 0.1
    # exposure changes (gain and offset) do not break a true match
    brighter = np.clip(gray[1] * 1.3 + 12, 0, 255).astype(np.float32)
    assert appearance_agrees(gray[0], brighter, truth, 3, 0.5)[interior].mean() > 0.95


def test_pair_outputs_and_count_maps():
    video, _ = sliding_square_clip(frames=5, size=64, bg_step=BG, fg_step=(3, 0))
    corr = compute_correspondences(video, FlowConfig(sparse=False, occluded_max_gap=2))
    assert set(corr.pairs) == {(i, j) for i in range(5) for j in range(5) if abs(i - j) in (1, 2, 4)}
    for (i, j), pair in corr.pairs.items():
        assert pair.flow.dtype == np.float16 and pair.flow.shape == (64, 64, 2)
        assert pair.valid.dtype == bool
        assert (pair.occluded_reliable is not None) == (abs(i - j) <= 2)  # asked for: gaps up to 2
    assert all(p.occluded_reliable is None for p in compute_correspondences(video, FlowConfig(sparse=False)).pairs.values())
    counts = corr.pair_counts()
    assert counts[0, 1] == corr.pairs[(0, 1)].valid.sum() and counts[0, 3] == 0
    expected = sum(p.valid.astype(np.float32) for (i, _), p in corr.pairs.items() if i == 2)
    np.testing.assert_array_equal(corr.count_maps[2], expected)
