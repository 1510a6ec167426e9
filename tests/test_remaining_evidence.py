"""The measuring helpers of benchmarks/remaining_evidence.py: the evidence figures in docs/engine.md rest on them."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from remaining_evidence import correlation, keypoint_predictions, later_runs_hidden, patch, photometric_scores  # noqa: E402


def _texture(size: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 1.5)
    grey = (255 * (noise - noise.min()) / (noise.max() - noise.min())).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def test_later_runs_hidden_keeps_the_query_run_and_long_runs():
    visible = np.array([[1, 1, 0, 1, 0, 0, 1, 1, 1, 0]], bool)
    query_frame = np.array([0])
    assert later_runs_hidden(visible, query_frame, 1).tolist() == [[1, 1, 0, 0, 0, 0, 1, 1, 1, 0]]
    assert later_runs_hidden(visible, query_frame, 3).tolist() == [[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]]
    assert later_runs_hidden(visible, np.array([7]), 2).tolist() == [[0, 0, 0, 0, 0, 0, 1, 1, 1, 0]]


def test_patch_follows_the_pixel_centre_convention_and_correlation_is_normalised():
    image = _texture().astype(np.float32)
    # pixel (x, y) has its centre at (x + 0.5, y + 0.5): the patch there is the image's own window
    assert np.allclose(patch(image, np.array([40.5, 30.5]), 3), image[27:34, 37:44].reshape(49, 3))
    a = patch(image, np.array([40.5, 30.5]), 5)
    assert abs(correlation(a, 2 * a + 7) - 1) < 1e-9
    assert abs(correlation(a, -a) + 1) < 1e-9
    assert np.isnan(correlation(a, np.ones_like(a)))  # no contrast: no evidence either way


def test_keypoint_predictions_find_a_shifted_point_and_skip_where_nothing_matches():
    first = _texture()
    shifted = np.roll(first, (5, 9), axis=(0, 1))  # everything moves 9 px right, 5 px down
    video = np.stack([first, shifted, np.zeros_like(first)])
    queries = np.array([[0, 60.5, 64.5]])
    hidden = np.array([[False, True, True]])
    positions, predicted = keypoint_predictions(video, queries, hidden)
    assert predicted.tolist() == [[False, True, False]]  # a black frame has no keypoints
    assert np.linalg.norm(positions[0, 1] - (69.5, 69.5)) < 0.5


def test_photometric_scores_judge_changed_patches_and_leave_flat_ones_unjudged():
    texture = _texture().astype(np.float32)
    flat = np.full_like(texture, 128.0)
    other = _texture(seed=1).astype(np.float32)
    video = np.stack([texture, texture, flat, other])
    queries = np.array([[0, 64.5, 64.5]])
    tracks = np.tile(np.array([64.5, 64.5]), (1, 4, 1))
    visible = np.ones((1, 4), bool)
    to_query, to_neighbours = photometric_scores(video, queries, tracks, visible)
    assert to_query[0, 0] == 2.0  # the query frame is never judged
    assert abs(to_query[0, 1] - 1) < 1e-6
    assert np.isnan(to_query[0, 2])  # flat colour: NaN, below no threshold
    assert to_query[0, 3] < 0.5  # another surface
    assert not (to_query < 0.6)[0, 2]
