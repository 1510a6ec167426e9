"""The rendered 3-D suite: real Blender (bpy 4.2, Cycles on the CPU) renders a tiny clip into a cache, and its
ground truth is checked against the pixels and against Blender's own camera projection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from omnimotion_vfx.evaluation.rendered import cache
from omnimotion_vfx.evaluation.rendered.recipes import RENDERED_SUITES, RenderedClip
from omnimotion_vfx.evaluation.runner import LAST, ClipData, evaluate_modes, prepare_clip, query_sets
from omnimotion_vfx.evaluation.synthetic import PointSet
from omnimotion_vfx.evaluation.tapvid_metrics import last_frame_metrics

ROOT = Path(__file__).resolve().parents[1]
TINY = RENDERED_SUITES["rendered-tiny"][0]


@pytest.fixture(scope="module")
def suite_cache(tmp_path_factory: pytest.TempPathFactory):
    """A cache folder of this module's own, so the tests render from scratch whatever the user's cache holds."""
    folder = tmp_path_factory.mktemp("suite-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNIVFX_SUITE_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def tiny_clip(suite_cache: Path) -> cache.RenderedFrames:
    return cache.load_rendered(TINY)


def test_the_development_suite_covers_what_real_shots_do():
    clips = RENDERED_SUITES["rendered"]
    assert len(clips) >= 12 and len({c.name for c in clips}) == len(clips) and len({c.seed for c in clips}) == len(clips)
    assert {(c.width, c.height) for c in clips} == {(256, 256), (480, 270)}
    assert all(24 <= c.frames <= 200 for c in clips) and sum(c.frames >= 100 for c in clips) >= 2
    assert {c.camera for c in clips} == {"dolly", "orbit", "handheld", "push", "sweep"}
    for element in ("spinners", "movers", "benders", "cloths", "poles", "arms"):
        assert any(getattr(c, element) for c in clips), element
    assert any(c.motion_blur for c in clips) and any(c.moving_light for c in clips) and any(c.zoom for c in clips)
    assert any(c.textureless >= 0.5 for c in clips) and any(c.glossy >= 0.5 for c in clips) and any(c.shake for c in clips)


def test_recipes_round_trip_and_key_their_cache_by_content():
    assert RenderedClip.from_json(TINY.to_json()) == TINY
    assert TINY.key(1) == RenderedClip.from_json(TINY.to_json()).key(1)
    assert TINY.key(1) != TINY.key(2)
    other = RenderedClip.from_json(TINY.to_json().replace('"seed": 11', '"seed": 12'))
    assert other.key(1) != TINY.key(1)
    with pytest.raises(ValueError, match="unknown camera move"):
        RenderedClip("x", seed=1, camera="crane")


def test_ground_truth_projection_matches_the_rendered_image(tmp_path: Path):
    """A glowing sphere's image centroid sits where the ground truth's camera model puts its centre (pixel
    centres at +0.5, origin top-left) and where Blender's own world_to_camera_view does."""
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "blender_projection_check.py"), str(tmp_path / "dot.png")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert np.allclose(found["projected"], found["blender"], atol=1e-3)
    assert np.linalg.norm(np.subtract(found["projected"], found["centroid"])) < 0.3


def test_a_rendered_clip_has_frames_and_exact_ground_truth(tiny_clip: cache.RenderedFrames, suite_cache: Path):
    video, tracks, visible = tiny_clip.video, tiny_clip.tracks, tiny_clip.visible
    assert video.shape == (TINY.frames, TINY.height, TINY.width, 3) and video.dtype == np.uint8
    assert tracks.shape == (TINY.tracks, TINY.frames, 2) and visible.shape == (TINY.tracks, TINY.frames)
    folder = cache.clip_folder(TINY)
    assert folder.parent == suite_cache and len(list((folder / "frames").glob("*.jpg"))) == TINY.frames
    assert not list((folder / "frames").glob("*.png"))
    picked = tiny_clip.picked_frame
    assert visible[np.arange(len(picked)), picked].all()  # every point is seen where it was picked
    assert (picked == 0).sum() == TINY.tracks // 3
    assert 0 < (tiny_clip.layers == 0).sum() < TINY.tracks  # points on the background and on objects
    assert 0.05 < 1 - visible.mean() < 0.7  # some occlusion, mostly visible
    assert tiny_clip.render["render_seconds"] > 0


def _patch(image: np.ndarray, xy: np.ndarray, radius: int = 3) -> np.ndarray:
    import cv2

    return cv2.getRectSubPix(image, (2 * radius + 1, 2 * radius + 1), (float(xy[0]) - 0.5, float(xy[1]) - 0.5)).astype(np.float32)


def test_ground_truth_follows_the_pixels(tiny_clip: cache.RenderedFrames):
    """A point's patch in the next frame, read at its true position, matches far better than 3 px away."""
    grey = tiny_clip.video.mean(-1).astype(np.float32)
    at_truth, off_truth = [], []
    for n, t in zip(*np.nonzero(tiny_clip.visible[:, :-1] & tiny_clip.visible[:, 1:])):
        here, there = tiny_clip.tracks[n, t], tiny_clip.tracks[n, t + 1]
        if not (5 < there[0] < TINY.width - 5 and 5 < there[1] < TINY.height - 5):
            continue
        source = _patch(grey[t], here)
        at_truth.append(np.abs(_patch(grey[t + 1], there) - source).mean())
        off_truth.append(np.abs(_patch(grey[t + 1], there + (3.0, 0.0)) - source).mean())
    assert len(at_truth) > 50
    assert np.median(at_truth) < 0.5 * np.median(off_truth)


class RenderedAgain(Exception):
    pass


def _refuse_to_render(recipe: RenderedClip) -> Path:
    raise RenderedAgain(recipe.name)


def test_a_cached_clip_is_reused_and_a_half_rendered_one_is_not(tiny_clip: cache.RenderedFrames, monkeypatch):
    monkeypatch.setattr(cache, "render_into_cache", _refuse_to_render)
    again = cache.load_rendered(TINY)
    assert np.array_equal(again.video, tiny_clip.video) and np.array_equal(again.tracks, tiny_clip.tracks)
    other = RenderedClip.from_json(TINY.to_json().replace('"seed": 11', '"seed": 13'))
    cache.clip_folder(other).mkdir(parents=True)  # a folder without done.json: an interrupted render
    with pytest.raises(RenderedAgain):
        cache.load_rendered(other)


def test_the_runner_scores_both_modes_from_one_tracker_run(suite_cache: Path):
    clip = prepare_clip(TINY)
    rows = evaluate_modes(clip, "chained-flow")
    assert set(rows) == {"strided", "first"}
    assert rows["strided"]["seconds"] == rows["first"]["seconds"]
    assert rows["strided"]["queries"] > rows["first"]["queries"] == int(clip.trajectories.visible.any(1).sum())
    assert 20 < rows["strided"]["AJ"] <= 100 and 50 < rows["strided"]["OA"] <= 100


def test_long_clips_add_frame_zero_queries_scored_at_the_last_frame():
    frames = 100
    tracks = np.zeros((3, frames, 2), np.float32) + np.arange(frames, dtype=np.float32)[None, :, None]
    visible = np.ones((3, frames), bool)
    visible[1, 0] = False  # not seen in frame 0: no long-range query
    trajectories = PointSet(np.array([[5, 5, 5], [5, 5, 5], [7, 7, 7]], float), tracks, visible, np.array([0, 1, 2]))
    clip = ClipData(TINY, np.zeros((frames, 8, 8, 3), np.uint8), trajectories, trajectories)
    sets = query_sets(clip, ("strided",))
    assert list(sets) == ["strided", LAST]
    assert np.array_equal(sets[LAST].queries, [[0, 0, 0], [0, 0, 0]]) and np.array_equal(sets[LAST].layers, [0, 2])


def test_last_frame_metrics():
    gt = np.zeros((4, 5, 2))
    gt_visible = np.ones((4, 5), bool)
    gt_visible[3, -1] = False
    pred = gt.copy()
    pred[1, -1] = (3.0, 0.0)  # within 4, 8, 16 but not 1, 2
    pred[2, -1] = (0.0, 20.0)  # within none
    pred_visible = np.ones((4, 5), bool)  # the hidden endpoint is called visible: 3 of 4 right
    out = last_frame_metrics(gt, gt_visible, pred, pred_visible, (256, 256))
    assert out["endpoints"] == 3 and out["visibility"] == 75.0
    assert out["within_1"] == pytest.approx(100 / 3) and out["within_4"] == pytest.approx(200 / 3)
    assert out["median_px"] == 3.0
    assert out["delta_avg"] == pytest.approx(np.mean([100 / 3, 100 / 3, 200 / 3, 200 / 3, 200 / 3]))


def test_accuracy_benchmark_on_the_rendered_test_suite(suite_cache: Path, tmp_path: Path):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMNIVFX_SUITE_CACHE=str(suite_cache))
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--suite", "rendered-tiny",
                          "--tracker", "chained-flow", "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "query mode strided" in run.stdout and "query mode first" in run.stdout
    rows = json.loads(next(tmp_path.glob("accuracy_rendered-tiny_*.json")).read_text())["rows"]
    assert [(r["tracker"], r["mode"]) for r in rows] == [("chained-flow", "strided"), ("chained-flow", "first"),
                                                         ("flow-fusion", "strided"), ("flow-fusion", "first")]


def test_rendering_without_blender_says_how_to_install_it(monkeypatch, suite_cache: Path):
    from omnimotion_vfx.errors import InputError

    monkeypatch.setattr(cache.importlib.util, "find_spec", lambda name: None)
    other = RenderedClip.from_json(TINY.to_json().replace('"seed": 11', '"seed": 14'))
    with pytest.raises(InputError, match=r"pip install -e '\.\[test\]'"):
        cache.load_rendered(other)


def test_a_render_finished_first_by_another_process_is_kept(tmp_path: Path):
    folder, mine = tmp_path / "clip", tmp_path / ".clip.rendering-1"
    folder.mkdir()
    (folder / "done.json").write_text("{}")
    (folder / "theirs").write_text("x")
    mine.mkdir()
    (mine / "done.json").write_text("{}")
    cache._publish(mine, folder)
    assert (folder / "theirs").exists()
    incomplete = tmp_path / "other"
    incomplete.mkdir()  # a crashed render's leftovers: replaced
    cache._publish(mine, incomplete)
    assert (incomplete / "done.json").exists() and not mine.exists()
