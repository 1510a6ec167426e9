"""Chaining: composition, a chain dying at its first bad link, chains covering what direct flow misses, and
direct flow taking precedence where it is consistent."""

import numpy as np

from flow_scene import gt_flow, sliding_square_clip
from omnimotion_vfx.flow import FlowConfig, compute_correspondences
from omnimotion_vfx.flow.backends import DisBackend
from omnimotion_vfx.flow.chaining import compose_chain
from omnimotion_vfx.flow.compute import PairBuilder
from omnimotion_vfx.flow.cycle_consistency import consistent_mask, cycle_offset


def constant(h, w, dx, dy):
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def test_compose_adds_translations_and_dies_at_a_bad_link():
    h, w = 20, 30
    first = constant(h, w, 3, 0)
    second = constant(h, w, 0, 2)
    second_valid = np.ones((h, w), bool)
    second_valid[:, 10:13] = False  # reached from columns 7..9 of the first frame
    flow, valid = compose_chain([(first, np.ones((h, w), bool)), (second, second_valid)])
    np.testing.assert_allclose(flow, constant(h, w, 3, 2))
    assert not valid[:, 7:10].any()
    assert not valid[:, 27:].any()  # left the frame after the first link
    assert not valid[18:].any()  # left the frame after the second link
    assert valid[:18, :7].all() and valid[:18, 10:27].all()


def test_chained_matches_cover_what_cold_direct_flow_misses():
    bg = fg = (6, 0)  # 24 px over gap 4: too far for DIS at 96x96 without a warm start
    video, masks = sliding_square_clip(frames=5, size=96, bg_step=bg, fg_step=fg)
    truth, _ = gt_flow(0, 4, (96, 96), bg, fg, masks)
    cold = compute_correspondences(video, FlowConfig(sparse=False, warm_start=False, chain=False)).pairs[(0, 4)]
    chained = compute_correspondences(video, FlowConfig(sparse=False, warm_start=False)).pairs[(0, 4)]
    assert "chained" in chained.source
    assert chained.valid.mean() > cold.valid.mean() + 0.3
    from_chain = chained.valid & ~cold.valid  # same DIS flows, so these pixels are the chain's
    error = np.linalg.norm(chained.flow.astype(np.float32) - truth, axis=2)
    assert (error[from_chain] < 3).mean() > 0.95


def test_direct_flow_overrides_the_chain_where_consistent():
    video, _ = sliding_square_clip(frames=3, size=64, bg_step=(2, 1), fg_step=(3, 0))
    config = FlowConfig(sparse=False)
    backend = DisBackend(video)
    builder = PairBuilder(video, config, backend, [1, 2])
    d_ij, d_ji = backend(0, 2), backend(2, 0)
    chain = (d_ij + np.float32(0.7), np.ones(d_ij.shape[:2], bool))  # a plausible but different chain
    pair = builder._fuse(0, 2, d_ij, d_ji, chain)
    direct_ok = consistent_mask(*cycle_offset(d_ij, d_ji), builder.cycle)
    assert direct_ok.mean() > 0.8
    np.testing.assert_array_equal(pair.flow[direct_ok], d_ij.astype(np.float16)[direct_ok])
    assert pair.valid[direct_ok].all()


def test_exhaustive_schedule_chains_through_the_previous_gap():
    bg, fg = (2, 1), (3, 0)
    video, masks = sliding_square_clip(frames=5, size=64, bg_step=bg, fg_step=fg, square=16)
    corr = compute_correspondences(video, FlowConfig.preset("paper", sparse=False, dis_preset="fast"))
    assert set(corr.pairs) == {(i, j) for i in range(5) for j in range(5) if i != j}
    for i, j in ((0, 3), (4, 1)):
        truth, _ = gt_flow(i, j, (64, 64), bg, fg, masks)
        pair = corr.pairs[(i, j)]
        error = np.linalg.norm(pair.flow.astype(np.float32) - truth, axis=2)
        assert pair.valid.mean() > 0.6 and (error[pair.valid] < 3).mean() > 0.95
