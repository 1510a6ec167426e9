"""The batched patch correlation gives OpenCV's TM_CCOEFF_NORMED scores, so re-detection finds the same
matches whether a frame's templates go one at a time or in one pass."""

import cv2
import numpy as np

from omnimotion_vfx.fusion.patch_correlation import FrameCorrelator


def _textured(seed: int, shape=(64, 80, 3)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.uint8), (5, 5), 1.2)


def test_scores_match_opencv_on_colour_frames():
    image = _textured(0)
    rng = np.random.default_rng(1)
    corners = rng.integers(0, 50, (12, 2))
    templates = np.stack([image[y:y + 11, x:x + 11] for y, x in corners]).astype(np.float32)
    templates[3] = templates[3] * 0.5 + 40.0  # gain and offset: the same score
    ours = FrameCorrelator(image, (11, 11)).scores(templates)
    reference = np.stack([cv2.matchTemplate(image.astype(np.float32), t, cv2.TM_CCOEFF_NORMED) for t in templates])
    assert ours.shape == reference.shape == (12, 54, 70)
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    for k, (y, x) in enumerate(corners):  # each template's best match is where it was cut
        assert np.unravel_index(np.argmax(ours[k]), ours[k].shape) == (y, x)


def test_flat_windows_and_templates_score_zero():
    image = _textured(2)
    image[:20, :20] = 90
    templates = np.stack([image[30:41, 30:41], np.full((11, 11, 3), 7)]).astype(np.float32)
    scores = FrameCorrelator(image, (11, 11)).scores(templates)
    assert np.all(scores[0, :10, :10] == 0.0)
    assert np.all(scores[1] == 0.0)
    assert np.all(np.abs(scores) <= 1.0)


def test_many_templates_are_split_into_passes_without_changing_scores():
    image = _textured(3, (40, 40, 3))
    templates = np.stack([image[i % 30:i % 30 + 7, (3 * i) % 30:(3 * i) % 30 + 7] for i in range(300)]).astype(np.float32)
    correlator = FrameCorrelator(image, (7, 7))
    np.testing.assert_allclose(correlator.scores(templates)[-5:], correlator.scores(templates[-5:]), atol=1e-6)
