"""Surface re-acquisition: lost frames re-found from the supports that share the query's surface, and only
where the image there shows the query's patch (an occluder in front is not re-found); visible frames placed
by the same prediction where the fusion's track drifted off it by a few pixels."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from omnimotion_vfx.fusion.surface_reacquisition import SurfaceReacquisition
from omnimotion_vfx.tracking.presets import run_preset

SIZE, FRAMES, LOST = 128, 12, range(5, 9)
QUERY = np.array([52.0, 60.0])


def _surface_motion(t: int) -> np.ndarray:
    """2x3 affine of frame 0 -> t: a spin about the centre and a drift, fast enough to matter."""
    a = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), 3.0 * t, 1.0 + 0.01 * t)
    a[:, 2] += (2.5 * t, -1.5 * t)
    return a


def _other_motion(t: int) -> np.ndarray:
    """A second surface (an occluder) sliding the other way."""
    return np.array([[1.0, 0.0, -4.0 * t], [0.0, 1.0, 3.0 * t]])


def _texture(seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).random((SIZE, SIZE, 3)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)


def _video(occluded: bool) -> np.ndarray:
    base, other = _texture(0), _texture(1)
    frames = []
    for t in range(FRAMES):
        frame = cv2.warpAffine(base, _surface_motion(t), (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT)
        if occluded and t in LOST:  # something else in front of the query's position
            x, y = _surface_motion(t) @ np.append(QUERY, 1.0)
            r = 12
            y0, x0 = int(y) - r, int(x) - r
            frame[y0:y0 + 2 * r, x0:x0 + 2 * r] = other[:2 * r, :2 * r]
        frames.append(frame)
    return np.stack(frames)


def _edge_video(edge_x: float) -> np.ndarray:
    """The query's surface ends at x=edge_x (frame 0); beyond it the other surface, of higher contrast,
    slides the other way."""
    base, other = _texture(0), _texture(1)
    other = 0.5 + 4.0 * (other - other.mean())
    columns = np.arange(SIZE, dtype=np.float32) + 0.5
    frames = []
    for t in range(FRAMES):
        inverse = cv2.invertAffineTransform(_surface_motion(t))
        surface_x = inverse[0, 0] * columns[None] + inverse[0, 1] * columns[:, None] + inverse[0, 2]
        on_surface = (surface_x < edge_x)[..., None]
        frames.append(np.where(on_surface, cv2.warpAffine(base, _surface_motion(t), (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT),
                               cv2.warpAffine(other, _other_motion(t), (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT)))
    return np.stack(frames)


def _track_points(frame: np.ndarray, xy: np.ndarray, edge_x: float = 70.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact tracks: points left of x=edge_x ride the query's surface, the rest ride the other surface."""
    assert (frame == 0).all()
    homogeneous = np.concatenate([xy, np.ones((len(xy), 1))], axis=1)
    on_surface = xy[:, 0] < edge_x
    tracks = np.stack([np.where(on_surface[:, None], homogeneous @ _surface_motion(t).T, homogeneous @ _other_motion(t).T)
                       for t in range(FRAMES)], axis=1)
    visible = np.ones(tracks.shape[:2], bool)
    hidden_with_query = np.nonzero(on_surface & (np.linalg.norm(xy - QUERY, axis=1) < 20))[0]
    visible[np.ix_(hidden_with_query, np.arange(LOST.start, LOST.stop))] = False
    return tracks, visible


def _query() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    truth = np.stack([_surface_motion(t) @ np.append(QUERY, 1.0) for t in range(FRAMES)])[None]
    guess = truth.copy()
    guess[0, LOST.start:LOST.stop] = truth[0, LOST.start - 1]  # the fusion held the last seen position
    visible = np.ones((1, FRAMES), bool)
    visible[0, LOST.start:LOST.stop] = False
    return truth, guess, visible


def test_lost_frames_are_refound_on_the_query_surface() -> None:
    truth, guess, visible = _query()
    reacquire = SurfaceReacquisition(_video(occluded=False), _track_points, run_preset("default").fusion)
    positions, found = reacquire(np.zeros(1, np.int64), guess, visible)
    assert found[0, LOST.start:LOST.stop].all()
    assert not found[0, visible[0]].any()  # visible frames are left to the fusion
    error = np.linalg.norm(positions[0, LOST.start:LOST.stop] - truth[0, LOST.start:LOST.stop], axis=-1)
    assert error.max() < 0.5, error


def test_an_occluder_in_front_is_not_refound() -> None:
    truth, guess, visible = _query()
    reacquire = SurfaceReacquisition(_video(occluded=True), _track_points, run_preset("default").fusion)
    _, found = reacquire(np.zeros(1, np.int64), guess, visible)
    assert not found[0, LOST.start:LOST.stop].any()


def test_drifted_visible_frames_are_placed_on_the_surface_prediction() -> None:
    """The fusion's track slid about a pixel off on visible frames (flow biased near an edge): the surface
    puts them back, unless the prediction lies further off than `reacquire_visible_px` (another surface)."""
    truth, _, _ = _query()
    visible = np.ones((1, FRAMES), bool)
    drifted = truth.copy()
    drifted[0, 1:] += (0.8, -0.8)
    config = run_preset("default").fusion
    reacquire = SurfaceReacquisition(_video(occluded=False), _track_points, config)
    positions, placed = reacquire.place(np.zeros(1, np.int64), drifted, visible)
    assert placed[0, 1:].all() and not placed[0, 0]
    error = np.linalg.norm(positions[0, 1:] - truth[0, 1:], axis=-1)
    assert error.max() < 0.5, error
    assert not reacquire(np.zeros(1, np.int64), drifted, visible)[1].any()  # nothing lost, nothing re-found
    tighter = SurfaceReacquisition(_video(occluded=False), _track_points, replace(config, reacquire_visible_px=1.0))
    assert not tighter.place(np.zeros(1, np.int64), drifted, visible)[1].any()


def test_a_point_beside_its_surface_edge_is_refound_by_half_its_patch() -> None:
    """Two pixels from the edge, the far half of the patch shows the other surface: the whole patch fails the
    check there, the half on the query's side passes it."""
    edge = QUERY[0] + 2
    truth, guess, visible = _query()
    track_points = lambda frame, xy: _track_points(frame, xy, edge)  # noqa: E731
    config = run_preset("default").fusion
    reacquire = SurfaceReacquisition(_edge_video(edge), track_points, config)
    positions, found = reacquire(np.zeros(1, np.int64), guess, visible)
    assert found[0, LOST.start:LOST.stop].all()
    error = np.linalg.norm(positions[0, LOST.start:LOST.stop] - truth[0, LOST.start:LOST.stop], axis=-1)
    assert error.max() < 0.5, error
    whole_patch_only = replace(config, reacquire_half_ncc=2.0)
    _, found = SurfaceReacquisition(_edge_video(edge), track_points, whole_patch_only)(np.zeros(1, np.int64), guess, visible)
    assert not found.any()


def test_the_fusion_reacquires_only_with_a_plate_of_the_flow_size() -> None:
    from omnimotion_vfx.flow.correspondences import Correspondences
    from omnimotion_vfx.fusion import FlowFusion

    config = run_preset("default").fusion
    correspondences = Correspondences(num_frames=FRAMES, size=(SIZE, SIZE))
    assert FlowFusion(correspondences, config, _video(occluded=False)).reacquisition is not None
    assert FlowFusion(correspondences, config, _video(occluded=False)[:, :, : SIZE // 2]).reacquisition is None
    assert FlowFusion(correspondences, config).reacquisition is None
