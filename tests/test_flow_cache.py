"""The on-disk flow cache: hits, resuming after a kill (missing or half-written pair files), stopping, keys."""

import numpy as np
import pytest

from flow_scene import sliding_square_clip
from omnimotion_vfx.errors import Interrupted
from omnimotion_vfx.flow import FlowConfig, compute_correspondences
from omnimotion_vfx.progress import CallbackProgress, StopToken

CONFIG = FlowConfig(sparse=False, dis_preset="fast")


@pytest.fixture(scope="module")
def clip():
    video, _ = sliding_square_clip(frames=6, size=48, bg_step=(2, 1), fg_step=(3, 0))
    return video


def pair_files(root):
    return sorted(p for p in root.rglob("*.npz"))


def partner(path):
    i, j = path.stem.split("_")
    return path.with_name(f"{j}_{i}.npz")


def assert_same(a, b):
    assert set(a.pairs) == set(b.pairs)
    for key in a.pairs:
        np.testing.assert_array_equal(a.pairs[key].flow, b.pairs[key].flow)
        np.testing.assert_array_equal(a.pairs[key].valid, b.pairs[key].valid)
        assert a.pairs[key].source == b.pairs[key].source
    np.testing.assert_array_equal(a.count_maps, b.count_maps)


def test_second_run_reads_the_cache_without_rewriting(clip, tmp_path):
    first = compute_correspondences(clip, CONFIG, tmp_path)
    files = pair_files(tmp_path)
    assert len(files) == len(first.pairs) == 2 * (5 + 4 + 2 + 1)
    stamps = {p: p.stat().st_mtime_ns for p in files}
    again = compute_correspondences(clip, FlowConfig(sparse=False, dis_preset="fast", workers=1), tmp_path)
    assert {p: p.stat().st_mtime_ns for p in pair_files(tmp_path)} == stamps
    assert_same(first, again)
    # packed masks and float16 flow: a 48x48 pair file is a few kB
    assert max(p.stat().st_size for p in files) < 48 * 48 * 2 * 2 + 2048


def test_resume_recomputes_only_lost_pairs(clip, tmp_path):
    first = compute_correspondences(clip, CONFIG, tmp_path)
    files = pair_files(tmp_path)
    lost, torn = files[3], files[-2]
    lost.unlink()
    torn.write_bytes(torn.read_bytes()[:100])  # a partial write from a non-atomic writer
    redo = {lost, torn} | {partner(lost), partner(torn)}  # both directions are one unit of work
    untouched = {p: p.stat().st_mtime_ns for p in files if p not in redo}
    assert len(untouched) == len(files) - 4
    resumed = compute_correspondences(clip, CONFIG, tmp_path)
    assert lost.exists() and torn.stat().st_size > 100
    assert {p: p.stat().st_mtime_ns for p in untouched} == untouched
    assert_same(first, resumed)


def test_stop_raises_interrupted_and_the_next_run_resumes(clip, tmp_path):
    reference = compute_correspondences(clip, CONFIG, None)
    stop = StopToken()
    progress = CallbackProgress(lambda event: stop.request("test") if event["step"] >= 2 else None, max_rate=1e9)
    with pytest.raises(Interrupted, match="run the same command again"):
        compute_correspondences(clip, CONFIG, tmp_path, progress, stop)
    done = len(pair_files(tmp_path))
    assert 2 <= done < len(reference.pairs)
    assert_same(reference, compute_correspondences(clip, CONFIG, tmp_path))


def test_cache_key_follows_plate_and_flow_parameters(clip, tmp_path):
    compute_correspondences(clip, CONFIG, tmp_path)
    compute_correspondences(clip, FlowConfig(sparse=False, dis_preset="fast", cycle_px=2.0), tmp_path)
    changed = clip.copy()
    changed[0, 0, 0, 0] ^= 1
    compute_correspondences(changed, CONFIG, tmp_path)
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3


def test_adjacent_pairs_are_shared_between_schedules(clip, tmp_path):
    compute_correspondences(clip, FlowConfig.preset("adjacent", dis_preset="fast"), tmp_path)
    gap1 = {p: p.stat().st_mtime_ns for p in pair_files(tmp_path)}
    assert len(gap1) == 10
    compute_correspondences(clip, FlowConfig.preset("default", dis_preset="fast"), tmp_path)
    assert {p: p.stat().st_mtime_ns for p in gap1} == gap1
    assert len(pair_files(tmp_path)) == 2 * (5 + 4 + 2 + 1)  # no sparse matches: no gap reaches sparse_min_gap
