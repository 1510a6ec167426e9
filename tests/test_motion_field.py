"""The motion field (omnimotion_vfx/motion): one representation answers dense and query lookups alike.

Analytic clips, so every expectation is exact: two halves of a 64 x 64 frame slide in opposite directions
(the right half also scales), the adjacent flow is their true motion, and the node tracker returns true tracks.
"""

from __future__ import annotations

import numpy as np
import pytest

from omnimotion_vfx.clip_geometry import ClipGeometry
from omnimotion_vfx.motion.config import MotionConfig
from omnimotion_vfx.motion.field import MotionField
from omnimotion_vfx.motion.plate_motion import PlateMotion
from omnimotion_vfx.motion.seeding import seed_field
from omnimotion_vfx.motion.store import load_field, save_field
from omnimotion_vfx.motion.trajectories import Trajectories

T, W, H = 6, 64, 64
EDGE = 32.0


def truth(frame0: np.ndarray, xy: np.ndarray, frame: np.ndarray | int) -> np.ndarray:
    """Where points xy [N, 2] of frames frame0 [N] are in `frame`: left of EDGE (at frame 0) moves +3 px/frame
    in x; right of it moves -1 px/frame in x and scales by 1% per frame about (48, 32)."""
    frame = np.broadcast_to(frame, frame0.shape).astype(np.float64)
    out = np.empty((len(xy), 2))
    left = xy[:, 0] < EDGE + 3.0 * frame0
    out[left] = xy[left] + np.stack([3.0 * (frame - frame0)[left], np.zeros(left.sum())], 1)
    right = ~left
    scale = (1.01 ** frame / 1.01 ** frame0)[right][:, None]
    centre = np.array([48.0, 32.0])
    base = (xy[right] - centre + np.stack([(frame0)[right], np.zeros(right.sum())], 1)) * 1.0
    out[right] = centre + (base) * scale - np.stack([frame[right], np.zeros(right.sum())], 1)
    return out


def track_nodes(index: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tracks = np.stack([truth(index, xy, t) for t in range(T)], 1).astype(np.float32)
    inside = (tracks[..., 0] >= 0) & (tracks[..., 0] <= W) & (tracks[..., 1] >= 0) & (tracks[..., 1] <= H)
    return tracks, inside


class TrueFlow:
    def step(self, frame: int, direction: int) -> np.ndarray:
        ys, xs = np.mgrid[0:H, 0:W] + 0.5
        xy = np.stack([xs.ravel(), ys.ravel()], 1)
        there = truth(np.full(len(xy), frame), xy, frame + direction)
        return (there - xy).reshape(H, W, 2).astype(np.float16)


@pytest.fixture(scope="module")
def field() -> MotionField:
    return seed_field(track_nodes, T, (W, H), TrueFlow(), MotionConfig(node_spacing_px=32.0, keyframe_every=3))


def test_affine_motion_is_reproduced_between_trajectories(field):
    rng = np.random.default_rng(0)
    xy = np.stack([rng.uniform(2, 28, 200), rng.uniform(2, 62, 200)], 1).astype(np.float32)  # left half, inside
    there, visible = field.map(0, xy, 4)
    assert np.abs(there - truth(np.zeros(200), xy, 4)).max() < 0.05
    assert visible.all()


def test_motion_does_not_bleed_across_the_edge(field):
    """Points beside the edge take their own side's motion: the adjacent flow picks the trajectories."""
    ys = np.arange(4, 60, 4, dtype=np.float32)
    for x in (EDGE - 1.5, EDGE + 1.5):
        xy = np.stack([np.full(len(ys), x, np.float32), ys], 1)
        there, _ = field.map(0, xy, 3)
        assert np.median(np.abs(there - truth(np.zeros(len(xy)), xy, 3))) < 0.3


def test_query_tracks_are_the_fields_answer_at_query_points(field):
    """Dense lookups equal the query tracks there, even tracks the seeded ones would not predict."""
    rng = np.random.default_rng(1)
    index = rng.integers(0, T, 40)
    xy = np.stack([rng.uniform(1, 63, 40), rng.uniform(1, 63, 40)], 1).astype(np.float32)
    tracks, visible = track_nodes(index, xy)
    tracks = tracks + rng.normal(0, 2.0, tracks.shape).astype(np.float32)  # a tracker's own answer, not the truth
    tracks[np.arange(40), index] = xy
    visible[:, 2] = ~visible[:, 2]
    visible &= (tracks[..., 0] >= 0) & (tracks[..., 0] <= W) & (tracks[..., 1] >= 0) & (tracks[..., 1] <= H)
    visible[np.arange(40), index] = True
    with_queries = MotionField(field.nodes, field.size, field.adjacent, field.config)
    with_queries.add(Trajectories(tracks, visible, index, np.ones(40, bool)))
    dense, dense_visible = with_queries.track(index, xy)
    assert np.median(np.linalg.norm(dense - tracks, axis=-1)) <= 0.1
    assert (dense_visible == visible).mean() >= 0.99
    for n in range(0, 40, 7):  # one frame at a time, as the exporters ask
        for t in range(T):
            there, seen = with_queries.map(int(index[n]), xy[n:n + 1], t)
            assert np.linalg.norm(there[0] - tracks[n, t]) < 0.1 and seen[0] == visible[n, t]


def test_every_pixel_of_a_frame_in_one_lookup_is_bounded_and_chunked(field):
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    pixels = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    small = MotionField(field.nodes, field.size, field.adjacent, MotionConfig(node_spacing_px=32.0, chunk=500))
    a, va = small.map(1, pixels, 5)
    b, vb = field.map(1, pixels, 5)
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert (va == vb).all()


def test_plate_units_and_proxy(field):
    geometry = ClipGeometry(tuple(range(1001, 1001 + T)), (0.5, 0.5))  # a half-resolution proxy
    plate = PlateMotion(field, geometry)
    xy = np.array([[20.0, 60.0]], np.float32)  # plate pixels = (10, 30) processing
    there, visible = plate.map_points(1001, xy, 1005)
    np.testing.assert_allclose(there, truth(np.zeros(1), xy * 0.5, 4) / 0.5, atol=0.1)
    tracks, vis = plate.track(np.array([[1001, 20.0, 60.0]]))
    np.testing.assert_allclose(tracks[0, 4], there[0], atol=1e-4)
    with pytest.raises(ValueError, match="not a frame"):
        plate.map_points(999, xy, 1005)


def test_store_round_trip_keeps_seeded_trajectories_only(field, tmp_path):
    copy = MotionField(field.nodes, field.size, field.adjacent, field.config)
    tracks, visible = track_nodes(np.zeros(3, np.int64), np.full((3, 2), 10.0, np.float32))
    copy.add(Trajectories(tracks, visible, np.zeros(3, np.int64), np.ones(3, bool)))
    save_field(tmp_path, "abc", copy)
    loaded = load_field(tmp_path, "abc", TrueFlow(), field.config)
    assert len(loaded.nodes) == len(field.nodes) and not loaded.nodes.is_query.any()
    np.testing.assert_array_equal(loaded.nodes.positions, field.nodes.positions)
    np.testing.assert_array_equal(loaded.nodes.visible, field.nodes.visible)
    assert load_field(tmp_path, "other inputs", TrueFlow(), field.config) is None
    (tmp_path / "field.npz").write_bytes(b"damaged")
    assert load_field(tmp_path, "abc", TrueFlow(), field.config) is None


def test_seeding_fills_what_comes_into_view(field):
    """The left half slides right, uncovering its left border: later keyframes seed trajectories there."""
    assert (field.nodes.anchor > 0).any()
    later = field.nodes.anchor > 0
    assert (field.nodes.positions[later, field.nodes.anchor[later], 0] < 20).any()
