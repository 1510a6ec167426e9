"""Appearance re-detection: a surface that vanished and came back somewhere no motion predicts is found again
by its look alone, and nothing is "found" while it is away or where only one frame would vouch for it."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from omnimotion_vfx.fusion.appearance_redetection import AppearanceRedetection
from omnimotion_vfx.tracking.presets import run_preset

SIZE, FRAMES, PATCH = 128, 12, 28
AWAY = range(4, 8)  # the object is hidden on these frames
QUERY_OFFSET = np.array([13.0, 15.0])  # the query point inside the object's patch


def _noise(seed: int, size: int) -> np.ndarray:
    noise = np.random.default_rng(seed).random((size, size, 3)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)


def _object_corner(t: int, returns: bool) -> np.ndarray | None:
    """Top-left of the object on frame t: drifting on the left, gone, then drifting on the right."""
    if t < AWAY.start:
        return np.array([10.0 + 2 * t, 20.0 + t])
    if t in AWAY or not returns:
        return None
    return np.array([80.0 + 2 * t - 2 * AWAY.stop, 70.0 + t - AWAY.stop])


def _video(returns: bool = True) -> np.ndarray:
    background, thing = _noise(0, SIZE), _noise(1, PATCH)
    frames = []
    for t in range(FRAMES):
        frame = background.copy()
        corner = _object_corner(t, returns)
        if corner is not None:
            x, y = corner.astype(int)
            frame[y:y + PATCH, x:x + PATCH] = thing
        frames.append(np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8))
    return np.stack(frames)


def _truth(returns: bool = True) -> tuple[np.ndarray, np.ndarray]:
    corners = [_object_corner(t, returns) for t in range(FRAMES)]
    present = np.array([c is not None for c in corners])
    track = np.array([c + QUERY_OFFSET if c is not None else (np.nan, np.nan) for c in corners])
    return track, present


def _object_flow(i: int, j: int, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact flow of the object between two frames where it is present on the same side of its absence."""
    a, b = _object_corner(i, True), _object_corner(j, True)
    if a is None or b is None or (i < AWAY.start) != (j < AWAY.start):
        return None
    return np.broadcast_to(b - a, xy.shape).copy(), np.ones(len(xy), bool)


def _run(video: np.ndarray, link_flow=_object_flow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    config = replace(run_preset("default").fusion)
    truth, present = _truth()
    guess = np.where(np.isnan(truth), 0.0, truth)[None].copy()
    guess[0, AWAY.start:] = guess[0, AWAY.start - 1]  # the fusion's guess: stuck where the object was last seen
    lost = np.zeros((1, FRAMES), bool)
    lost[0, AWAY.start:] = True
    positions, found = AppearanceRedetection(video, link_flow, config)(np.array([0]), guess, lost)
    return positions[0], found[0], truth


def test_a_surface_that_comes_back_elsewhere_is_found_by_its_look() -> None:
    positions, found, truth = _run(_video())
    back = np.arange(AWAY.stop, FRAMES)
    assert found[back].all()
    assert np.abs(positions[back] - truth[back]).max() < 0.5
    assert not found[list(AWAY)].any()  # nothing is found while the surface is away
    assert not found[:AWAY.start].any()  # frames that were not lost are left alone


def test_nothing_is_found_when_the_surface_never_comes_back() -> None:
    _, found, _ = _run(_video(returns=False))
    assert not found.any()


def test_a_match_no_flow_link_vouches_for_is_dropped() -> None:
    _, found, _ = _run(_video(), link_flow=lambda i, j, xy: None)
    assert not found.any()
