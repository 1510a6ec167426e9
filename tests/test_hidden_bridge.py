"""The fusion's last pass (fusion/hidden_bridge.py): hidden frames re-placed smoothly between the visible ones.

A track whose hidden frames between two visible runs were left off its path (a walk that slid, a run the
visibility rules rejected) must come back onto the path through its visible frames, or along the fitted track's
motion where one is given; frames outside the visible span, visible frames and visibility must not move (so AJ
and OA cannot); the pass must be what `FlowFusion.refine` does last, and its setting must be checked."""

import dataclasses

import numpy as np
import pytest
import torch

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.flow.correspondences import Correspondences, PairFlow
from omnimotion_vfx.flow.schedule import pair_schedule
from omnimotion_vfx.fusion import FlowFusion
from omnimotion_vfx.fusion.hidden_bridge import bridge_hidden
from omnimotion_vfx.tracking.presets import run_preset

FRAMES = 16


def _line(n: int = 3) -> torch.Tensor:
    """n tracks at constant velocity (a smooth path through any of their frames)."""
    t = torch.arange(FRAMES, dtype=torch.float64)[None, :, None]
    start = torch.tensor([[10.0, 20.0], [30.0, 5.0], [50.0, 40.0]], dtype=torch.float64)[:n, None]
    velocity = torch.tensor([[1.5, -0.5], [0.0, 2.0], [-1.25, 0.75]], dtype=torch.float64)[:n, None]
    return start + t * velocity


def test_hidden_frames_between_visible_runs_come_back_onto_the_path_and_the_rest_stays():
    truth = _line()
    visible = torch.ones((3, FRAMES), dtype=torch.bool)
    visible[:, 5:10] = False  # hidden between two visible runs
    visible[:, 13:] = False  # and after the last visible frame: nothing to bridge to
    visible[:, :2] = False  # and before the first
    tracks = truth.clone()
    tracks[:, 5:10] += torch.tensor([12.0, -7.0], dtype=torch.float64)  # where a slid walk left them
    tracks[:, 13:] += torch.tensor([-9.0, 4.0], dtype=torch.float64)
    tracks[:, :2] += 30.0  # a wild position outside the visible span must not bend the bridge
    out = bridge_hidden(tracks, visible, 1e-4)
    assert torch.equal(out[visible], tracks[visible])  # visible frames exactly as given
    assert (out[:, 5:10] - truth[:, 5:10]).abs().max() < 0.05, (out[:, 5:10] - truth[:, 5:10]).abs().max()
    assert torch.equal(out[:, 13:], tracks[:, 13:]) and torch.equal(out[:, :2], tracks[:, :2])
    assert (tracks - truth).abs()[:, 5:10].min() > 3.0  # (they were off the path)


def test_along_a_fitted_track_hidden_frames_follow_its_motion():
    """A point turning on a circle while hidden: the fitted track has the turn (off by a constant, as a model off
    by a few pixels is), the straight path has not."""
    angle = torch.linspace(0, np.pi, FRAMES, dtype=torch.float64)
    truth = (torch.stack([40 + 20 * torch.cos(angle), 40 + 20 * torch.sin(angle)], -1))[None]
    model = truth + torch.tensor([5.0, -3.0], dtype=torch.float64)
    visible = torch.ones((1, FRAMES), dtype=torch.bool)
    visible[:, 4:12] = False
    tracks = truth.clone()
    tracks[:, 4:12] += 8.0
    along = bridge_hidden(tracks, visible, 1e-4, model)
    assert (along - truth).abs().max() < 0.05, (along - truth).abs().max()
    assert (bridge_hidden(tracks, visible, 1e-4) - truth).abs().max() > 0.5  # (0.87 px)


def test_a_strong_pull_leaves_hidden_frames_where_they_were():
    """The pull is what holds a hidden frame to the passes' position: strong, the bridge changes nothing."""
    truth = _line()
    visible = torch.ones((3, FRAMES), dtype=torch.bool)
    visible[:, 6:9] = False
    tracks = truth.clone()
    tracks[:, 6:9] += 10.0
    assert (bridge_hidden(tracks, visible, 1e6) - tracks).abs().max() < 1e-3
    assert (bridge_hidden(tracks, visible, 1e-4) - tracks).abs()[:, 6:9].min() > 9.0


def test_tracks_seen_on_one_or_two_frames_and_all_visible_ones():
    tracks = _line(1) + torch.randn(1, FRAMES, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    one = torch.zeros((1, FRAMES), dtype=torch.bool)
    one[0, 4] = True
    assert bridge_hidden(tracks, one, 1e-4) is tracks  # nothing lies between two visible frames
    two = one.clone()
    two[0, 12] = True
    out = bridge_hidden(tracks, two, 1e-4)
    assert torch.isfinite(out).all() and torch.equal(out[0, [4, 12]], tracks[0, [4, 12]])
    assert torch.equal(out[0, 13:], tracks[0, 13:]) and torch.equal(out[0, :4], tracks[0, :4])
    every = torch.ones((1, FRAMES), dtype=torch.bool)
    assert bridge_hidden(tracks, every, 1e-4) is tracks


def _crossing_correspondences(size: int = 64) -> Correspondences:
    """Constant motion, but no valid link touches frames 6-9: the fusion hides them and leaves them to its solve."""
    step = np.array([1.0, 0.5])
    pairs = {}
    for i, j in pair_schedule(FRAMES, "log") + [(j, i) for i, j in pair_schedule(FRAMES, "log")]:
        flow = np.broadcast_to(step * (j - i), (size, size, 2)).astype(np.float16)
        pairs[(i, j)] = PairFlow(i, j, flow, np.full((size, size), not ({i, j} & {6, 7, 8, 9})))
    return Correspondences(FRAMES, (size, size), pairs)


def test_refine_bridges_last_and_the_setting_turns_it_off():
    on = run_preset("preview").fusion.without_model()
    off = dataclasses.replace(on, bridge_hidden=False)
    index = np.zeros(5, np.int64)
    xy = np.column_stack([np.linspace(8, 40, 5), np.linspace(10, 30, 5)])
    model = np.repeat(xy[:, None], FRAMES, axis=1).astype(np.float32) + 6.0  # a model that is off where no link decides
    model[:, 0] = xy
    seen = np.ones((5, FRAMES), bool)
    tracks_off, visible_off = FlowFusion(_crossing_correspondences(), off).refine(index, model, seen)
    tracks_on, visible_on = FlowFusion(_crossing_correspondences(), on).refine(index, model, seen)
    assert np.array_equal(visible_on, visible_off) and not visible_on[:, 6:10].any()
    expected = bridge_hidden(torch.from_numpy(tracks_off.astype(np.float64)), torch.from_numpy(visible_off), on.bridge_hidden_pull)
    np.testing.assert_allclose(tracks_on, expected.numpy(), atol=1e-3)
    assert np.abs(tracks_on - tracks_off).max() > 0.03  # (the solve's pull to the model had left them 0.07 px off)
    assert np.array_equal(tracks_on[visible_on], tracks_off[visible_off])


def test_the_pull_must_be_positive():
    with pytest.raises(InputError, match="bridge_hidden_pull"):
        run_preset("default").fusion.with_overrides({"bridge_hidden_pull": 0.0})
