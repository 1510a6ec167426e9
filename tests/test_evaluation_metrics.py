"""TAP-Vid metrics and TC on cases small enough to compute by hand."""

from __future__ import annotations

import numpy as np
import pytest

from omnimotion_vfx.evaluation.tapvid_metrics import (all_metrics, endpoint_delta, evaluation_mask, tapvid_metrics,
                                                     temporal_coherence)


def straight_tracks(n: int = 3, t: int = 6) -> np.ndarray:
    """n points moving at constant velocity on a 256 x 256 image."""
    start = np.array([[40.0, 50.0], [100.0, 120.0], [200.0, 30.0]])[:n]
    return start[:, None, :] + np.arange(t)[None, :, None] * np.array([3.0, 1.0])


def test_perfect_prediction_scores_full_marks():
    gt = straight_tracks()
    visible = np.ones(gt.shape[:2], bool)
    visible[1, 4] = False
    queries = np.array([[0, *gt[0, 0]], [2, *gt[1, 2]], [5, *gt[2, 5]]])
    m = all_metrics(queries, gt, visible, gt.copy(), visible.copy(), (256, 256))
    assert m == {"AJ": 100.0, "delta_avg": 100.0, "OA": 100.0, "TC": 0.0, "end_delta": 100.0}


def test_all_predicted_occluded_gets_zero_jaccard_but_keeps_position_accuracy():
    gt = straight_tracks()
    visible = np.ones(gt.shape[:2], bool)
    visible[0, 3:] = False  # 3 of the 15 evaluated points are GT-occluded
    queries = np.array([[0, *gt[0, 0]], [0, *gt[1, 0]], [0, *gt[2, 0]]])
    m = all_metrics(queries, gt, visible, gt.copy(), np.zeros_like(visible), (256, 256))
    assert m["AJ"] == 0.0
    assert m["delta_avg"] == 100.0  # positions are scored whatever the predicted visibility
    assert m["OA"] == pytest.approx(100.0 * 3 / 15)


def test_two_pixel_offset_fails_the_one_and_two_pixel_thresholds():
    gt = straight_tracks()
    visible = np.ones(gt.shape[:2], bool)
    queries = np.array([[0, *gt[i, 0]] for i in range(3)])
    m = tapvid_metrics(queries, gt, visible, gt + [2.0, 0.0], visible, (256, 256))
    assert [m[f"pts_within_{d}"] for d in (1, 2, 4, 8, 16)] == [0.0, 0.0, 100.0, 100.0, 100.0]  # strictly less than
    assert m["average_pts_within_thresh"] == pytest.approx(60.0)
    assert m["average_jaccard"] == pytest.approx(60.0)  # too far and predicted visible = false positive
    assert temporal_coherence(gt, visible, gt + [2.0, 0.0], (256, 256)) == pytest.approx(0.0)


def test_coordinates_are_rescaled_to_the_256_raster_per_axis():
    gt = straight_tracks() * [2.0, 0.5]  # the same motion on a 512 x 128 image
    visible = np.ones(gt.shape[:2], bool)
    queries = np.array([[0, *gt[i, 0]] for i in range(3)])
    x_off = tapvid_metrics(queries, gt, visible, gt + [2.0, 0.0], visible, (512, 128))  # 1 raster px
    y_off = tapvid_metrics(queries, gt, visible, gt + [0.0, 2.0], visible, (512, 128))  # 4 raster px
    assert x_off["average_pts_within_thresh"] == pytest.approx(80.0)
    assert y_off["average_pts_within_thresh"] == pytest.approx(40.0)


def test_hand_computed_mixed_case():
    # one query at frame 0; frames 1..3 evaluated. GT visible at 1 and 3, occluded at 2.
    gt = np.array([[[10.0, 10.0], [12.0, 10.0], [14.0, 10.0], [16.0, 10.0]]])
    gt_vis = np.array([[True, True, False, True]])
    pred = gt.copy()
    pred[0, 3] += [10.0, 0.0]  # 10 px off: only within the 16 px threshold
    pred_vis = np.array([[True, True, True, True]])  # frame 2 is a false positive
    m = tapvid_metrics(np.array([[0, 10.0, 10.0]]), gt, gt_vis, pred, pred_vis, (256, 256))
    assert m["occlusion_accuracy"] == pytest.approx(100 * 2 / 3)
    assert m["jaccard_8"] == pytest.approx(100 * 1 / 4)  # 1 TP / (2 GT visible + 2 FP)
    assert m["jaccard_16"] == pytest.approx(100 * 2 / 3)  # 2 TP / (2 + 1 FP)
    assert m["average_jaccard"] == pytest.approx((4 * 25 + 100 * 2 / 3) / 5)
    assert m["average_pts_within_thresh"] == pytest.approx((4 * 50 + 100) / 5)


def test_query_frame_is_never_evaluated_and_first_mode_ignores_earlier_frames():
    gt = straight_tracks(1, 5)
    visible = np.ones((1, 5), bool)
    pred = gt.copy()
    pred[0, 2] += 50.0  # wrong only at the query frame
    pred[0, 0] += 50.0  # and before it
    queries = np.array([[2, *gt[0, 2]]])
    assert tapvid_metrics(queries, gt, visible, pred, visible, (256, 256), "first")["average_pts_within_thresh"] == 100.0
    strided = tapvid_metrics(queries, gt, visible, pred, visible, (256, 256), "strided")
    assert strided["average_pts_within_thresh"] == pytest.approx(75.0)  # frames 0, 1, 3, 4: frame 0 wrong
    assert evaluation_mask(queries, 5, "first").tolist() == [[False, False, False, True, True]]
    with pytest.raises(ValueError):
        evaluation_mask(queries, 5, "middle")


def test_temporal_coherence_is_the_mean_acceleration_error_over_visible_triples():
    gt = straight_tracks(1, 5)
    pred = gt.copy()
    pred[0, 2, 0] += 1.0  # a 1-px kink: acceleration errors 1, -2, 1 over the three triples
    visible = np.ones((1, 5), bool)
    assert temporal_coherence(gt, visible, pred, (256, 256)) == pytest.approx(4 / 3)
    visible[0, 4] = False  # drops the last triple
    assert temporal_coherence(gt, visible, pred, (256, 256)) == pytest.approx(1.5)
    assert np.isnan(temporal_coherence(gt, np.zeros((1, 5), bool), pred, (256, 256)))


def test_endpoint_delta_scores_the_last_frame_of_earlier_queries_visible_there():
    frames = 5
    gt = np.zeros((3, frames, 2))
    visible = np.ones((3, frames), bool)
    visible[2, -1] = False  # hidden at the last frame: not scored
    queries = np.array([[0, 0, 0], [4, 0, 0], [1, 0, 0]], float)  # query 1 sits in the last frame: not scored
    pred = gt.copy()
    pred[0, -1] = (3.0, 0.0)  # within 4, 8, 16 px only
    pred[1, -1] = (100.0, 0.0)
    pred[2, -1] = (100.0, 0.0)
    assert endpoint_delta(queries, gt, visible, pred, (256, 256)) == pytest.approx(60.0)
    visible[0, -1] = False
    assert np.isnan(endpoint_delta(queries, gt, visible, pred, (256, 256)))
