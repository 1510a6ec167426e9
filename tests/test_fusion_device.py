"""The flow-link fusion's passes as tensor operations on its device (fusion/link_fusion.py, flow_stack.py).

A plate translating by a fractional step per frame, with forward and backward links of the log schedule, has
exact flows: the fused tracks must recover the truth whatever the model says, pin the query frame, keep the
model where no link reaches, and give the same answer however the queries and pairs are chunked and whether the
flows arrive as float16 or float32. On a machine with CUDA the same fusion on the GPU must match the CPU's."""

import dataclasses

import numpy as np
import pytest
import torch

from omnimotion_vfx.flow.correspondences import Correspondences, PairFlow
from omnimotion_vfx.flow.schedule import pair_schedule
from omnimotion_vfx.fusion import FlowFusion, link_fusion
from omnimotion_vfx.tracking.presets import run_preset

FRAMES, SIZE, STEP = 12, 64, np.array([1.25, -0.5])
LOST = 7  # no link reaches this frame in `lost_frame_correspondences`


def _correspondences(dtype=np.float16, noise: float = 0.0, lost: int | None = None) -> Correspondences:
    rng = np.random.default_rng(0)
    pairs = {}
    for i, j in pair_schedule(FRAMES, "log") + [(j, i) for i, j in pair_schedule(FRAMES, "log")]:
        flow = np.broadcast_to(STEP * (j - i), (SIZE, SIZE, 2)) + rng.normal(0, noise, (SIZE, SIZE, 2))
        valid = np.full((SIZE, SIZE), j != lost)
        pairs[(i, j)] = PairFlow(i, j, flow.astype(dtype), valid)
    return Correspondences(FRAMES, (SIZE, SIZE), pairs)


def _queries(n: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames [n], xy [n, 2], true tracks [n, T, 2]) whose tracks stay well inside the plate."""
    rng = np.random.default_rng(1)
    index = rng.integers(0, FRAMES, n)
    start = rng.uniform(12, 40, (n, 2)) + [0, 8]  # the position in frame 0
    truth = start[:, None] + np.arange(FRAMES)[None, :, None] * STEP
    return index, truth[np.arange(n), index], truth


def _refine(fusion: FlowFusion, index: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fusion from a model that knows nothing: each query standing still."""
    still = np.repeat(xy[:, None], FRAMES, axis=1).astype(np.float32)
    return fusion.refine(index, still, np.ones(still.shape[:2], bool))


@pytest.fixture(scope="module")
def config():
    return run_preset("preview").fusion.without_model()  # `_refine`'s still model has no depth order to ask


def test_exact_flow_recovers_the_truth_and_pins_the_query_frame(config):
    index, xy, truth = _queries()
    tracks, visible = _refine(FlowFusion(_correspondences(), config), index, xy)
    assert np.abs(tracks - truth).max() < 1e-3, np.abs(tracks - truth).max()
    assert visible.all()
    np.testing.assert_allclose(tracks[np.arange(len(xy)), index], xy, atol=1e-4)


def test_a_frame_no_link_reaches_keeps_the_model_and_is_hidden(config):
    index, xy, truth = _queries()
    index[index == LOST] = 0
    xy = truth[np.arange(len(xy)), index]
    fusion = FlowFusion(_correspondences(lost=LOST), config)
    model = torch.from_numpy(np.repeat(xy[:, None], FRAMES, axis=1))
    walk, reached = fusion._propagate(torch.from_numpy(index), model)
    assert not reached[:, LOST].any() and reached[:, np.arange(FRAMES) != LOST].all()
    assert torch.equal(walk[:, LOST], model[:, LOST])  # the walk leaves the lost frame to the model ...
    tracks, visible = _refine(fusion, index, xy)
    assert not visible[:, LOST].any() and visible[:, np.arange(FRAMES) != LOST].all()
    assert np.abs(tracks[:, LOST] - truth[:, LOST]).max() < 0.05  # ... and the solve carries the track through it


HIDDEN, BACK = {5, 6}, 9  # `_two_runs_correspondences`: hidden on 5-6, back on 7-11, re-found on BACK


def _two_runs_correspondences() -> Correspondences:
    """Exact flows with no valid link into frames 5-6 and none across them: a point's run 0-4 and its run 7-11
    after it came back are joined by nothing but the image."""

    def linked(i: int, j: int) -> bool:
        return not ({i, j} & HIDDEN) and not (min(i, j) < 5 < max(i, j))

    pairs = {}
    for i, j in pair_schedule(FRAMES, "log") + [(j, i) for i, j in pair_schedule(FRAMES, "log")]:
        flow = np.broadcast_to(STEP * (j - i), (SIZE, SIZE, 2)).astype(np.float16)
        pairs[(i, j)] = PairFlow(i, j, flow, np.full((SIZE, SIZE), linked(i, j)))
    return Correspondences(FRAMES, (SIZE, SIZE), pairs)


def test_the_walk_goes_on_from_a_refound_frame_into_the_rest_of_its_run(config):
    """A point hidden on frames 5-6 comes back on 7-11, and no link joins its two runs. With frame 9 re-found on
    the image, the walk from it carries the point over 7-11 on exact links, and they turn visible; the frames no
    valid link reaches (5-6) stay hidden; frames the first walk reached (and the visibility rules hid) are left
    alone; a path dearer than `rewalk_max_cost_px` turns nothing visible."""
    back = BACK
    fusion_correspondences = _two_runs_correspondences()
    fusion = FlowFusion(fusion_correspondences, config)
    index, _, truth = _queries(6)
    index[:] = 0
    truth_t = torch.from_numpy(truth)
    visible = torch.zeros((6, FRAMES), dtype=torch.bool)
    visible[:, :5] = True
    visible[:, back] = True  # re-found on the image
    guess = truth_t.clone()
    guess[:, 5:] += torch.tensor([6.0, -4.0], dtype=torch.float64)  # the model's smooth guess, off on the lost frames
    guess[:, back] = truth_t[:, back]
    pull = torch.where(visible, config.refine_walk_weight, config.refine_model_weight).double()
    pull[:, back] = config.reacquire_pull
    lost_to_walk = torch.ones((6, FRAMES), dtype=torch.bool)
    lost_to_walk[:, :5] = False  # the first walk reached the query's run
    fused, seen = fusion._walk_on(torch.from_numpy(index), guess, visible, lost_to_walk, visible.clone(), guess, pull, guess)
    assert seen[:, 7:].all() and not seen[:, 5:7].any() and seen[:, :5].all()
    assert (fused[:, 7:] - truth_t[:, 7:]).abs().max() < 0.05
    assert run_preset("preview").fusion.rewalk
    walked_late = lost_to_walk.clone()
    walked_late[:, 10:] = False  # as if the first walk had reached 10-11 and the visibility rules had hidden them
    _, seen = fusion._walk_on(torch.from_numpy(index), guess, visible, walked_late, visible.clone(), guess, pull, guess)
    assert seen[:, 7:10].all() and not seen[:, 10:].any()
    strict = FlowFusion(fusion_correspondences, dataclasses.replace(config, rewalk_max_cost_px=0.4))  # under one link's cost
    _, seen = strict._walk_on(torch.from_numpy(index), guess, visible, lost_to_walk, visible.clone(), guess, pull, guess)
    assert torch.equal(seen, visible)


def test_a_model_that_slid_with_the_walk_cannot_vouch_for_it_in_the_consensus(config):
    """Run 7-11 is joined to the query's run by no link, and the walk and the fitted model both slid 6 px (256
    raster) off the path the acceleration prior carries on there (a point that went behind a sliding occluder, as
    on the sample plate). The consensus solve must leave that run to the prior, so the check hides it; pulled to
    the model as hard as the re-solve pulls lost frames, it would have followed the slide and passed it."""
    fusion = FlowFusion(_two_runs_correspondences(), config)
    index, _, truth = _queries(6)
    index[:] = 0
    slid = torch.from_numpy(truth).clone()
    slid[:, 7:] += torch.tensor([1.5, 0.0], dtype=torch.float64)  # 6 px on the 256 raster of this 64 px plate
    reached = torch.ones((6, FRAMES), dtype=torch.bool)
    reached[:, 5:7] = False
    limit = fusion.scale * config.refine_disagreement_px

    def off_consensus(weight: float) -> torch.Tensor:
        pull = torch.full((6, FRAMES), weight, dtype=torch.float64)
        consensus = fusion._solve(torch.from_numpy(index), slid, reached, slid, pull, config.refine_consensus_smoothness)
        return torch.linalg.vector_norm(slid - consensus, dim=-1)

    assert (off_consensus(config.refine_consensus_model_weight)[:, 7:] > limit).all()
    assert (off_consensus(config.refine_model_weight)[:, 7:] < limit).all()
    assert (off_consensus(config.refine_consensus_model_weight)[:, :5] < 0.1 * limit).all()


def test_refine_walks_on_from_what_reacquisition_refound_whatever_the_chunking(config, monkeypatch):
    """Through `refine`: a re-acquisition that re-finds each point on frame BACK only. The re-walk carries every
    point over the rest of its second run, visible; without `rewalk` only the re-found frame is; and queries
    solved one per chunk get the same answer as all at once."""
    index, _, truth = _queries(6)
    index[:] = 0
    xy = truth[:, 0]

    def refind_back(query_index, fused, visible, progress=None):  # the chunk's own queries, pinned on frame 0
        found = np.zeros(visible.shape, bool)
        found[:, BACK] = True
        return np.where(found[..., None], fused[:, :1] + np.arange(FRAMES)[:, None] * STEP, fused), found

    def fused_with(cfg):
        fusion = FlowFusion(_two_runs_correspondences(), cfg)
        fusion.reacquisition, fusion.redetection = refind_back, None
        return _refine(fusion, index, xy)

    tracks, visible = fused_with(config)
    assert visible[:, 7:].all() and not visible[:, 5:7].any() and visible[:, :5].all()
    assert np.abs(tracks[:, 7:] - truth[:, 7:]).max() < 0.05
    with monkeypatch.context() as patch:
        patch.setattr(link_fusion, "SOLVE_BYTES", 16 * FRAMES**2)  # one query a chunk
        one_by_one = fused_with(config)
    np.testing.assert_allclose(one_by_one[0], tracks, atol=1e-6)
    np.testing.assert_array_equal(one_by_one[1], visible)
    _, without = fused_with(dataclasses.replace(config, rewalk=False))
    assert without[:, BACK].all() and not without[:, [7, 8, 10, 11]].any()


def test_the_models_depth_order_decides_a_frame_the_walk_cannot_reach():
    """"flow+model": no valid link leads into frame LOST, so the walk never reaches it, but the links out of it
    agree with the track, so a chain joins it: the flow rules split, and the model's depth order decides. Frames
    both rules accept stay visible where the model calls them hidden."""
    config = dataclasses.replace(run_preset("preview").fusion, refine_visibility="flow+model")
    index, _, truth = _queries()
    index[index == LOST] = 0
    says_visible = np.arange(len(index)) % 2 == 0
    model_visible = np.ones((len(index), FRAMES), bool)
    model_visible[~says_visible, LOST] = False
    model_visible[:, 2] = False
    model_visible[np.arange(len(index)), index] = True
    tracks, visible = FlowFusion(_correspondences(lost=LOST), config).refine(index, truth.astype(np.float32), model_visible)
    np.testing.assert_array_equal(visible[:, LOST], says_visible)
    assert visible[:, np.arange(FRAMES) != LOST].all()
    assert np.abs(tracks - truth).max() < 0.05


def test_the_models_depth_order_decides_where_the_flow_rules_split():
    """Where the walk reaches a frame that no agreeing link chain joins (or the reverse), the model's visibility
    decides, still inside the image, near the link consensus and only where the model's track is the fused one
    (its depth order is about its own point); nowhere else, and never without "flow+model"."""
    yes, no = torch.tensor([[True, True, True, True, True, False, True]]), torch.tensor([[True, True, False, False, True, True, False]])
    rules = {"inside the image": torch.tensor([[True, True, True, True, False, True, True]]),
             "reached by the walk": yes, "joined by agreeing links": no,
             "near the link consensus": torch.tensor([[True, False, True, True, True, True, True]])}
    model_visible = torch.tensor([[True, True, True, False, True, True, True]])
    fused = torch.zeros(1, 7, 2, dtype=torch.float64)
    model = fused.clone()
    model[0, 6] = 20.0  # the model's point is elsewhere in the last frame: its depth order says nothing here
    config = dataclasses.replace(run_preset("preview").fusion, refine_visibility="flow+model")
    fusion = FlowFusion(_correspondences(), config)
    vouched = fusion._vouched_by_model(rules, model_visible, fused, model)
    assert vouched.tolist() == [[False, False, True, False, False, True, False]]
    flow_only = FlowFusion(_correspondences(), config.without_model())
    assert not flow_only._vouched_by_model(rules, model_visible, fused, model).any()
    assert run_preset("preview").fusion.refine_visibility == "flow"  # measured AJ-neutral: not the presets' rule


def test_chunked_queries_and_pair_blocks_give_the_same_tracks(config, monkeypatch):
    corr = _correspondences(noise=0.3)
    index, xy, _ = _queries()
    tracks, visible = _refine(FlowFusion(corr, config), index, xy)
    monkeypatch.setattr(link_fusion, "SOLVE_BYTES", 5 * 16 * FRAMES**2)  # five queries a chunk
    monkeypatch.setattr(link_fusion, "LINK_POINTS", 7 * 5)  # seven pairs a block
    chunked, chunked_visible = _refine(FlowFusion(corr, config), index, xy)
    np.testing.assert_allclose(chunked, tracks, atol=1e-5)
    np.testing.assert_array_equal(chunked_visible, visible)


def test_float16_and_float32_flows_agree(config):
    index, xy, truth = _queries()
    half, half_visible = _refine(FlowFusion(_correspondences(np.float16, noise=0.3), config), index, xy)
    full, full_visible = _refine(FlowFusion(_correspondences(np.float32, noise=0.3), config), index, xy)
    assert np.abs(half - full).max() < 1e-2, np.abs(half - full).max()
    assert (half_visible == full_visible).mean() > 0.99
    assert np.abs(half - truth).max() > 1e-3  # the noise does reach the tracks: the comparison means something


def test_the_stack_is_held_once_on_the_cpu(config):
    corr = _correspondences()
    fusion = FlowFusion(corr, config)
    stack = fusion.stack
    assert stack.flows.dtype == np.float16
    for pair in corr.pairs.values():
        assert np.shares_memory(pair.flow, stack.flows) and np.shares_memory(pair.valid, stack.valid)
    assert stack._pixels.data_ptr() == stack.flows.ctypes.data and stack._valid.data_ptr() == stack.valid.ctypes.data


def test_the_link_passes_run_on_one_cpu_thread_and_restore_the_setting(config, monkeypatch):
    fusion = FlowFusion(_correspondences(), config)
    read, threads = fusion.stack.links_at, []
    monkeypatch.setattr(fusion.stack, "links_at", lambda ks, pos: (threads.append(torch.get_num_threads()), read(ks, pos))[1])
    index, xy, _ = _queries()
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _refine(fusion, index, xy)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert threads and set(threads) == {1} and after == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_gpu_fusion_matches_the_cpu(config):
    index, xy, _ = _queries()
    on_cpu, cpu_visible = _refine(FlowFusion(_correspondences(noise=0.3), config), index, xy)
    on_gpu, gpu_visible = _refine(FlowFusion(_correspondences(noise=0.3), config, device="cuda"), index, xy)
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-5)
    np.testing.assert_array_equal(gpu_visible, cpu_visible)
