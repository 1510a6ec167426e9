"""The chained-flow tracker through the `omnivfx track` contract: real PNG plate, real CLI process, flow cached
under the results folder's work/flow and reused on the next run."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from flow_scene import sliding_square_clip
from omnimotion_vfx.clip_geometry import ClipGeometry
from omnimotion_vfx.flow.chained_tracker import ChainedFlowConfig, ChainedFlowTracker

BG, FG = (2, 1), (4, 0)
FRAMES = 6
FIRST = 1001
OMNIVFX = str(Path(sys.executable).with_name("omnivfx"))


@pytest.fixture(scope="module")
def clip():
    return sliding_square_clip(frames=FRAMES, size=80, bg_step=BG, fg_step=FG, square=20)


def test_track_chained_flow_through_the_cli(clip, tmp_path):
    video, _ = clip
    for t, frame in enumerate(video):
        cv2.imwrite(str(tmp_path / f"plate.{FIRST + t:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    # background points (the square starts at x 10-30, y 30-50 and moves right)
    queries = np.array([[FIRST, 50.5, 12.5], [FIRST, 60.5, 62.5], [FIRST + 2, 20.5, 70.5]])
    (tmp_path / "points.csv").write_text("frame,x,y\n" + "".join(f"{int(f)},{x},{y}\n" for f, x, y in queries))
    out = tmp_path / "out"
    command = [OMNIVFX, "track", str(tmp_path / "plate.%04d.png"), "--queries", str(tmp_path / "points.csv"),
               "--tracker", "chained-flow", "--out", str(out), "--keep-cache"]  # the cache is kept and reused
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with np.load(out / "tracks.npz") as data:
        tracks, visible, frames = data["tracks"], data["visible"], data["frames"]
    assert list(frames) == list(range(FIRST, FIRST + FRAMES))
    expected = queries[:, None, 1:] + (frames[None, :, None] - queries[:, None, :1]) * np.array(BG)
    assert np.abs(tracks - expected).max() < 1.0
    assert visible.all()
    cached = sorted((out / "work" / "flow").rglob("gap1/*.npz"))
    assert len(cached) == 2 * (FRAMES - 1)
    stamps = [p.stat().st_mtime_ns for p in cached]
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert [p.stat().st_mtime_ns for p in cached] == stamps


def test_motion_field_seeds_match_the_tracks_and_occlusion_threshold_is_an_option(clip):
    video, masks = clip
    geometry = ClipGeometry(tuple(range(FIRST, FIRST + FRAMES)))
    tracker = ChainedFlowTracker(video, geometry)
    rows, cols = np.nonzero(~masks[0])
    xy = np.column_stack([cols, rows])[::7] + 0.5
    tracks, visible = tracker(np.column_stack([np.full(len(xy), FIRST), xy]))
    seeds, seeds_visible = tracker.track_nodes(np.zeros(len(xy), np.int64), xy.astype(np.float32))
    np.testing.assert_allclose(seeds, tracks, atol=1e-3)
    np.testing.assert_array_equal(seeds_visible, visible)
    assert tracker.step(3, 1) is tracker.forward[3] and tracker.step(3, -1) is tracker.backward[2]
    assert tracker.step(FRAMES - 1, 1) is None and tracker.step(0, -1) is None
    # background points the square runs over fail the 3 px cycle check; the paper's 48 px baseline keeps them
    assert not visible.all()
    paper = ChainedFlowTracker(video, geometry, ChainedFlowConfig.preset("paper"))
    assert paper.cycle_threshold == pytest.approx(48.0 * 80 / 480)
    assert paper(np.column_stack([np.full(len(xy), FIRST), xy]))[1].sum() > visible.sum()


def test_progress_in_chunks_of_points_gives_the_same_tracks(clip, monkeypatch):
    """Points are followed independently, so reporting progress chunk by chunk changes no track."""
    video, _ = clip
    tracker = ChainedFlowTracker(video, ClipGeometry(tuple(range(FIRST, FIRST + FRAMES))))
    gy, gx = np.mgrid[2:78:3, 2:78:3] + 0.5
    queries = np.column_stack([np.full(gx.size, FIRST), gx.ravel(), gy.ravel()])
    queries[::5, 0] = FIRST + 3  # two query frames
    whole, whole_visible = tracker(queries)
    monkeypatch.setattr("omnimotion_vfx.flow.chained_tracker.POINTS_PER_CALL", 16)
    heard: list[float] = []
    tracks, visible = tracker(queries, progress=heard.append)
    np.testing.assert_array_equal(tracks, whole)
    np.testing.assert_array_equal(visible, whole_visible)
    assert len(heard) >= 20 and heard[-1] == 1.0 and all(a < b for a, b in zip(heard, heard[1:]))
