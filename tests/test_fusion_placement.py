"""Visible-frame placement (fusion/link_fusion.py, pass 6): a point whose flow drifts a little every frame while
its surface's flow does not (a flow window straddling a feature) is put back by its surface's prediction,
checked on the image; with `reacquire_visible` off the fused track keeps the drift."""

from dataclasses import replace

import numpy as np
import pytest

from flow_scene import gt_flow, sliding_square_clip
from omnimotion_vfx.flow.correspondences import Correspondences, PairFlow
from omnimotion_vfx.flow.schedule import pair_schedule
from omnimotion_vfx.fusion import FlowFusion
from omnimotion_vfx.tracking.presets import run_preset

FRAMES, SIZE, BG, FG, SQUARE = 16, 96, (1, 0), (4, 0), 20
QUERIES = np.array([[30.5, 16.5], [50.5, 20.5], [40.5, 78.5]])  # background, clear of the square's path
DRIFT = 0.07  # px per frame of a link, along x, within BIASED px of a query's true path


def _truth(t: int) -> np.ndarray:
    return QUERIES + t * np.asarray(BG, float)


def _biased_correspondences(masks: np.ndarray) -> Correspondences:
    """Exact flows, except near the queries' paths, where every link (forward and back, so cycle-consistent)
    carries DRIFT px per frame of gap too far."""
    gy, gx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    pairs = {}
    for i, j in pair_schedule(FRAMES, "log") + [(j, i) for i, j in pair_schedule(FRAMES, "log")]:
        flow, visible = gt_flow(i, j, (SIZE, SIZE), BG, FG, masks)
        near = np.zeros((SIZE, SIZE), bool)
        for x, y in _truth(i):
            near |= np.hypot(gx - x, gy - y) < 2.5
        flow[near, 0] += DRIFT * (j - i)
        pairs[(i, j)] = PairFlow(i, j, flow.astype(np.float16), visible)
    return Correspondences(FRAMES, (SIZE, SIZE), pairs)


@pytest.fixture(scope="module")
def clip():
    video, masks = sliding_square_clip(FRAMES, SIZE, BG, FG, SQUARE, seed=3)
    return video, _biased_correspondences(masks)


def _fused_error(clip, place: bool) -> tuple[np.ndarray, np.ndarray]:
    video, corr = clip
    config = replace(run_preset("default").fusion.without_model(), redetect=False, reacquire_visible=place)
    still = np.repeat(QUERIES[:, None], FRAMES, 1)
    tracks, visible = FlowFusion(corr, config, video).refine(np.zeros(len(QUERIES), np.int64), still,
                                                           np.ones(still.shape[:2], bool))
    truth = np.stack([_truth(t) for t in range(FRAMES)], axis=1)
    return np.linalg.norm(tracks - truth, axis=-1), visible


def test_drifting_visible_frames_are_placed_back_on_their_surface(clip):
    drifted, visible = _fused_error(clip, place=False)
    assert visible.all()
    assert np.median(drifted[:, 10:]) > 0.6, np.round(drifted, 2)  # the flow's drift stays in the fused track
    placed, visible = _fused_error(clip, place=True)
    assert visible.all()
    assert np.median(placed[:, 10:]) < np.median(drifted[:, 10:]) / 2, (np.round(placed, 2), np.round(drifted, 2))


def test_refine_reports_its_progress_without_changing_the_tracks(clip):
    """The "queries" stage of a run hears how far the passes are; the tracks are the same with or without it."""
    video, corr = clip
    fusion = FlowFusion(corr, run_preset("default").fusion.without_model(), video)
    assert fusion.reacquisition is not None and fusion.redetection is not None
    still = np.repeat(QUERIES[:, None], FRAMES, 1)
    args = (np.zeros(len(QUERIES), np.int64), still, np.ones(still.shape[:2], bool))
    heard: list[float] = []
    tracks, visible = fusion.refine(*args, progress=heard.append)
    quiet_tracks, quiet_visible = fusion.refine(*args)
    np.testing.assert_array_equal(tracks, quiet_tracks)
    np.testing.assert_array_equal(visible, quiet_visible)
    assert len(heard) > FRAMES and heard[-1] == 1.0 and 0.0 <= heard[0] < 0.2  # a report per frame searched, at least
    assert all(a <= b for a, b in zip(heard, heard[1:])), heard
