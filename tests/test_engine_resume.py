"""Checkpoint, stop and resume: a stopped fit resumes where it stopped and follows the same loss curve;
a finished fit reloads without training."""

import numpy as np
import pytest

from engine_clips import exact_correspondences, tiny_config, translating_clip
from omnimotion_vfx.engine import fit
from omnimotion_vfx.errors import Interrupted
from omnimotion_vfx.progress import StopToken


class StopAfter(StopToken):
    """Requests a stop once the fit loop has checked `checks` times (a deterministic SIGTERM mid-fit)."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.left = checks

    @property
    def requested(self) -> bool:
        self.left -= 1
        if self.left < 0 and not self._event.is_set():
            self.request("test stop")
        return self._event.is_set()


def test_stop_then_resume_reproduces_the_loss_curve(tmp_path):
    frames, size = 6, 24
    video = translating_clip(frames, size)
    corr = exact_correspondences(frames, size, max_gap=2)
    config = tiny_config(steps=30).with_overrides({"trainer.checkpoint_every": 7})

    straight = fit(video, corr, config, work_dir=tmp_path / "a").history

    with pytest.raises(Interrupted):
        fit(video, corr, config, work_dir=tmp_path / "b", stop=StopAfter(17))
    resumed = fit(video, corr, config, work_dir=tmp_path / "b")

    assert [s for s, _ in resumed.history] == list(range(30))
    np.testing.assert_allclose([v for _, v in resumed.history], [v for _, v in straight], rtol=1e-4, atol=1e-5)


def test_finished_fit_reloads_without_training(tmp_path):
    frames, size = 6, 24
    video = translating_clip(frames, size)
    corr = exact_correspondences(frames, size, max_gap=2)
    config = tiny_config(steps=12)
    first = fit(video, corr, config, work_dir=tmp_path)
    again = fit(video, corr, config, work_dir=tmp_path, stop=StopAfter(0))  # would raise if it trained
    queries = np.array([[2, 10.5, 12.5], [4, 3.0, 20.0]])
    np.testing.assert_allclose(first(queries)[0], again(queries)[0], atol=1e-5)


def test_changed_settings_start_a_new_fit(tmp_path):
    frames, size = 6, 24
    video = translating_clip(frames, size)
    corr = exact_correspondences(frames, size, max_gap=2)
    fit(video, corr, tiny_config(steps=8), work_dir=tmp_path)
    changed = tiny_config(steps=8).with_overrides({"trainer.lr_bijection": 1e-3})
    with pytest.raises(Interrupted):  # a different fit cannot reuse the finished one: it trains, so it stops
        fit(video, corr, changed, work_dir=tmp_path, stop=StopAfter(2))


def test_finished_checkpoint_leaves_out_the_sampler_error_cache_and_still_continues(tmp_path):
    """The results folder keeps the finished checkpoint: the per-pixel sampling CDF (600 MB for 36 HD frames)
    is only for an unfinished fit. A stopped fit keeps it; a finished one does not, and a longer schedule
    continues from it all the same."""
    import torch

    frames, size = 6, 24
    video = translating_clip(frames, size)
    corr = exact_correspondences(frames, size, max_gap=2)
    config = tiny_config(steps=12).with_overrides({"sampler.error_cache_every": 4, "trainer.checkpoint_every": 5})
    with pytest.raises(Interrupted):
        fit(video, corr, config, work_dir=tmp_path, stop=StopAfter(9))
    stopped = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert not stopped["done"] and stopped["sampler"]["pixel_cdf"] is not None
    fit(video, corr, config, work_dir=tmp_path)
    finished = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert finished["done"] and finished["sampler"]["pixel_cdf"] is None
