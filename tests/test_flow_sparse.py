"""Sparse long-range keypoint matches: correct where they are kept, and only where dense flow failed."""

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from flow_scene import sliding_square_clip
from omnimotion_vfx.flow import FlowConfig, compute_correspondences
from omnimotion_vfx.flow.sparse_matches import KeypointMatcher

BG, FG = (5, 2), (7, 0)


def true_target(xy, gap, masks_i):
    """GT position in frame i + gap of points xy [N, 2] of frame i (square or background motion)."""
    col = np.clip(xy[:, 0].astype(int), 0, masks_i.shape[1] - 1)
    row = np.clip(xy[:, 1].astype(int), 0, masks_i.shape[0] - 1)
    step = np.where(masks_i[row, col][:, None], FG, BG)
    return xy + gap * step


def test_two_way_ratio_matches_are_correct():
    video, masks = sliding_square_clip(frames=10, size=128, bg_step=BG, fg_step=FG)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in video]
    with ThreadPoolExecutor(2) as pool:
        matcher = KeypointMatcher(gray, "sift", 1000, 0.75, pool)
    xy_0, xy_9 = matcher.match(0, 9)
    assert len(xy_0) >= 20
    error = np.linalg.norm(xy_9 - true_target(xy_0, 9, masks[0]), axis=1)
    assert (error < 2.0).mean() > 0.9
    back_9, back_0 = matcher.match(9, 0)  # the two-way check makes matching symmetric
    assert {tuple(p) for p in np.round(xy_0, 2)} == {tuple(p) for p in np.round(back_0, 2)}


def test_sparse_matches_fill_only_long_gaps_where_dense_failed():
    video, _ = sliding_square_clip(frames=10, size=128, bg_step=BG, fg_step=FG)
    corr = compute_correspondences(video, FlowConfig(sparse=True, sparse_min_gap=8, dis_preset="fast"))
    sparse = corr.sparse
    assert sparse is not None
    assert np.all(sparse.j - sparse.i >= 8)
    for i, j, a, b in zip(sparse.i, sparse.j, sparse.xy_i.astype(int), sparse.xy_j.astype(int)):
        a, b = np.clip(a, 0, 127), np.clip(b, 0, 127)
        assert not (corr.pairs[(i, j)].valid[a[1], a[0]] and corr.pairs[(j, i)].valid[b[1], b[0]])


def test_local_consensus_drops_matches_that_move_unlike_their_neighbours():
    from omnimotion_vfx.flow.sparse_matches import local_consensus

    rng = np.random.default_rng(0)
    xy_i = rng.uniform(0, 200, (40, 2)).astype(np.float32)
    xy_j = xy_i + np.float32([12, -5])
    xy_j[[3, 17]] += np.float32([40, 25])  # two wrong matches
    keep = local_consensus(xy_i, xy_j)
    assert not keep[[3, 17]].any() and keep.sum() == 38
