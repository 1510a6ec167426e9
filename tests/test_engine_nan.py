"""A non-finite loss never stops a fit: the step is skipped and logged; repeated failures restore the last
good state with a lower learning rate."""

import json

import numpy as np
import torch

from engine_clips import exact_correspondences, tiny_config, translating_clip
from omnimotion_vfx.engine import fit, trainer


def _poisoned(bad_steps: set[int], monkeypatch):
    real = trainer.compute_losses
    calls = {"n": 0}

    def compute_losses(*args, **kwargs):
        terms = real(*args, **kwargs)
        if calls["n"] in bad_steps:
            terms["flow"] = terms["flow"] * torch.tensor(float("nan"))
        calls["n"] += 1
        return terms

    monkeypatch.setattr(trainer, "compute_losses", compute_losses)


def test_single_nan_is_skipped_and_logged(tmp_path, monkeypatch):
    _poisoned({5}, monkeypatch)
    video = translating_clip(6, 24)
    tracker = fit(video, exact_correspondences(6, 24, 2), tiny_config(steps=15), work_dir=tmp_path)
    steps = [s for s, _ in tracker.history]
    assert 5 not in steps and len(steps) == 14
    assert all(np.isfinite(v) for _, v in tracker.history)
    assert [e["step"] for e in tracker.events] == [5]
    logged = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert logged[0]["step"] == 5 and "skipped" in logged[0]["event"]
    assert all(torch.isfinite(p).all() for p in tracker.model.parameters())


def test_repeated_nans_restore_last_good_state_with_lower_lr(monkeypatch):
    _poisoned({8, 9, 10}, monkeypatch)
    video = translating_clip(6, 24)
    config = tiny_config(steps=14).with_overrides({"trainer.bad_steps_before_restore": 3})
    tracker = fit(video, exact_correspondences(6, 24, 2), config)
    assert len(tracker.events) == 3
    assert "restored" in tracker.events[-1]["event"] and "x0.5" in tracker.events[-1]["event"]
    assert np.isfinite(tracker(np.array([[0, 12.0, 12.0]]))[0]).all()
