"""The optimisation loop: Adam parameter groups with step decay, checkpoints, stopping, a time budget, and NaN
safety.

The time budget (`trainer.time_budget_s`) is for a deadline: the fit ends at the first step boundary past it,
saved as finished, so the tracks are there when promised; the seconds are summed over resumes, and raising the
budget (or removing it) continues the same fit.

A non-finite loss or gradient never stops the fit: the step is skipped; after several bad steps in a row the
last good state is restored with half the learning rate. Every such event is logged (progress warning and
the `events` list saved in each checkpoint and in events.jsonl beside it).
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch

from ..progress import NullProgress, ProgressReporter, StopToken
from .checkpoint import Checkpointer, fit_identity
from .config import EngineConfig
from .losses import compute_losses, loss_weights
from .model import OmniMotionModel
from .sampler import PairSampler


class Trainer:
    def __init__(self, model: OmniMotionModel, sampler: PairSampler, config: EngineConfig, device: torch.device,
                 checkpointer: Checkpointer, progress: ProgressReporter | None = None, stop: StopToken | None = None) -> None:
        self.model = model
        self.sampler = sampler
        self.config = config
        self.device = device
        self.checkpointer = checkpointer
        self.progress = progress or NullProgress()
        self.stop = stop or StopToken()
        tc = config.trainer
        self.base_lrs = [tc.lr_latent, tc.lr_bijection, tc.lr_canonical]
        # fused: one kernel per step, and it skips a non-finite step on the device (found_inf), so no host check
        self.optimizer = torch.optim.Adam([
            {"params": model.latent.parameters(), "lr": tc.lr_latent},
            {"params": model.bijection.parameters(), "lr": tc.lr_bijection},
            {"params": model.canonical.parameters(), "lr": tc.lr_canonical},
        ], fused=True)
        self.step = 0
        self.lr_scale = 1.0
        self.history: list[tuple[int, float]] = []
        self.events: list[dict[str, Any]] = []
        self.bad_in_a_row = 0
        self.good_state: dict[str, Any] | None = None
        self.fit_seconds = 0.0  # time spent fitting, summed over resumes (the time budget counts this)
        self.forward = model  # replaced by a compiled wrapper when asked for (GPU)
        self.term_names = list(loss_weights(config.loss, 0))
        self.pending: list[tuple[int, torch.Tensor, torch.Tensor]] = []  # steps not yet read back (flush)

    # --- state -------------------------------------------------------------------------------------------
    def state_dict(self, done: bool = False) -> dict[str, Any]:
        """A finished fit's state leaves out the sampler's error cache: a reload never samples, and the
        results folder keeps this checkpoint (it was 896 MB for 36 HD frames with the cache, under 1 MB without)."""
        return {
            "config": self.config.to_dict(), "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "step": self.step, "lr_scale": self.lr_scale, "history": self.history, "events": self.events,
            "sampler": self.sampler.state_dict(with_error_cache=not done), "torch_rng": torch.get_rng_state(), "done": done,
            "fit_seconds": self.fit_seconds,
            # the stratified depths draw on the fit's device: a resumed fit continues that generator, not a fresh one
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self._load_optimizer(state["optimizer"])
        self.step, self.lr_scale = state["step"], state["lr_scale"]
        self.history, self.events = list(state["history"]), list(state["events"])
        self.sampler.load_state_dict(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        self.fit_seconds = float(state.get("fit_seconds", 0.0))
        if not state["done"]:
            self.events.append({"step": self.step, "event": f"resumed from the checkpoint of step {self.step}"})

    def _load_optimizer(self, state: dict[str, Any]) -> None:
        """Checkpoints written before the fused optimizer carry fused=None in their groups; keep it fused."""
        self.optimizer.load_state_dict(state)
        for group in self.optimizer.param_groups:
            group["fused"] = True

    # --- one step ----------------------------------------------------------------------------------------
    def _set_lr(self) -> None:
        tc = self.config.trainer
        factor = tc.decay ** (self.step // max(tc.decay_every, 1)) * self.lr_scale
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * factor

    def _losses(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        batch = self.sampler.sample(self.step)
        codes = self.model.latent()
        rays = self.model.render(batch.src, self.model.normalise(batch.xy), batch.dst, codes, stratified=True)
        terms = compute_losses(self.model, codes, rays, batch.src, batch.xy, batch.target, batch.weight, batch.colour,
                               self.config.loss, batch.mask)
        weights = loss_weights(self.config.loss, self.step)
        total = sum(weights[name] * value for name, value in terms.items() if weights[name] > 0)
        return total, terms

    def train_step(self) -> None:
        """One optimisation step, entirely on the device: a non-finite loss or gradient makes the fused Adam
        skip the update (its found_inf flag); the host reads the outcome at the next `flush`."""
        self._set_lr()
        self.optimizer.zero_grad(set_to_none=True)
        total, terms = self._losses()
        total = torch.as_tensor(total, device=self.device, dtype=torch.float32)
        ok = torch.isfinite(total)
        if total.requires_grad:
            total.backward()
            grads = [p.grad for p in self.model.parameters() if p.grad is not None]
            if grads:
                ok = ok & torch.isfinite(torch.stack(torch._foreach_norm(grads, float("inf")))).all()
        self.optimizer.found_inf = (~ok).float()
        self.optimizer.step()
        values = torch.stack([total.detach(), *(terms[name].detach().float() for name in self.term_names)])
        self.pending.append((self.step, ok, values))

    def flush(self) -> dict[str, float] | None:
        """Read the steps since the last flush back to the host (one wait for the device): history, skipped
        steps and their events, the restore after repeated bad steps, the good state. Returns the last good
        step's terms (None when none)."""
        if not self.pending:
            return None
        steps = [step for step, _, _ in self.pending]
        oks = torch.stack([ok for _, ok, _ in self.pending]).tolist()
        values = torch.stack([v for _, _, v in self.pending]).tolist()
        self.pending.clear()
        logged = None
        for step, ok, row in zip(steps, oks, values):
            if ok:
                self.bad_in_a_row = 0
                self.history.append((step, row[0]))
                logged = {"total": row[0], **dict(zip(self.term_names, row[1:]))}
            else:
                self._bad_step(step, row[0])
        last = steps[-1]
        if self.good_state is None or last - self.good_state["step"] >= max(1, self.config.trainer.checkpoint_every):
            self.good_state = {"step": last, "model": copy.deepcopy(self.model.state_dict()),
                               "optimizer": copy.deepcopy(self.optimizer.state_dict())}
        return logged

    def _bad_step(self, step: int, value: float) -> None:
        self.bad_in_a_row += 1
        event = {"step": step, "event": "non-finite loss or gradient; step skipped", "loss": repr(value)}
        if self.bad_in_a_row >= self.config.trainer.bad_steps_before_restore and self.good_state is not None:
            self.model.load_state_dict(self.good_state["model"])
            self._load_optimizer(self.good_state["optimizer"])
            self.lr_scale *= 0.5
            self.bad_in_a_row = 0
            event["event"] = f"repeated non-finite steps; restored step {self.good_state['step']} with lr x{self.lr_scale:g}"
        self.events.append(event)
        self.progress.warn(f"fit step {step}: {event['event']}")

    # --- hard mining -------------------------------------------------------------------------------------
    @torch.no_grad()
    def refresh_error_cache(self, stride: int = 4) -> None:
        """Render adjacent-pair flow on a strided grid, compare with the input flow: per-pixel and per-frame errors."""
        corr, model = self.sampler.corr, self.model
        t, (w, h) = model.num_frames, model.size
        ys, xs = np.mgrid[stride // 2:h:stride, stride // 2:w:stride]
        xy = torch.from_numpy(np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32) + 0.5).to(self.device)
        codes = model.latent()
        maps = np.zeros((t, h, w), np.float32)
        frame_error = np.zeros(t)
        for i in range(t):
            pair = corr.get(i, i + 1) or corr.get(i, i - 1)
            if pair is None:
                continue
            frames = torch.full((len(xy),), i, device=self.device)
            rays = model.render(frames, model.normalise(xy), torch.full_like(frames, pair.j), codes, stratified=False)
            pred = model.to_pixels(rays.target[:, :2]).cpu().numpy()
            target = np.stack([xs.ravel(), ys.ravel()], 1) + 0.5 + pair.flow[ys.ravel(), xs.ravel()].astype(np.float32)
            err = np.abs(pred - target).sum(1) * pair.valid[ys.ravel(), xs.ravel()]
            coarse = err.reshape(ys.shape).astype(np.float32)
            if coarse.size:  # each grid error covers its stride x stride block; the last blocks reach the edges
                full = np.kron(coarse, np.ones((stride, stride), np.float32))
                maps[i] = np.pad(full, ((0, max(0, h - full.shape[0])), (0, max(0, w - full.shape[1]))), mode="edge")[:h, :w]
            frame_error[i] = err.mean()
        self.sampler.update_error_cache(frame_error, maps)

    # --- the loop ----------------------------------------------------------------------------------------
    def budget_spent(self) -> bool:
        budget = self.config.trainer.time_budget_s
        return budget > 0 and self.fit_seconds >= budget

    def summary(self) -> dict[str, Any]:
        """What the fit did, for the results manifest: a deadline-cut fit must say so."""
        tc = self.config.trainer
        ended = "schedule" if self.step >= tc.steps else "time budget" if self.budget_spent() else "unfinished"
        return {"steps_done": self.step, "steps_planned": tc.steps, "fit_seconds": round(self.fit_seconds, 1),
                "ended_by": ended, "events": len(self.events),
                "fit_id": fit_identity(self.checkpointer.fingerprint, self.step, self.fit_seconds)}

    def fit(self) -> None:
        tc = self.config.trainer
        sc = self.config.sampler
        self.progress.begin("fit", tc.steps)
        self.progress.update(self.step)
        t0, last_report = time.monotonic(), 0.0
        spent_before = self.fit_seconds
        while self.step < tc.steps:
            if self.budget_spent():  # fit_seconds as of the last step's end
                self.flush()
                self.events.append({"step": self.step, "event": f"time budget of {tc.time_budget_s:g} s reached at step "
                                    f"{self.step} of {tc.steps}; fit ended there"})
                self.progress.warn(f"fit: time budget reached at step {self.step} of {tc.steps}")
                break
            if self.stop.requested:
                self.flush()
                self.checkpointer.save(self.state_dict())
                self.stop.raise_if_requested(f"fit saved at step {self.step}")
            if sc.error_cache_every and self.step > 0 and self.step % sc.error_cache_every == 0:
                self.refresh_error_cache()
            self.train_step()
            self.step += 1
            now = time.monotonic() - t0
            self.fit_seconds = spent_before + now  # before the save, so a resume counts this step's time
            checkpoint = self.step % max(1, tc.checkpoint_every) == 0
            if checkpoint or self.step % tc.log_every == 0 or self.step == tc.steps:
                logged = self.flush()
                if logged is not None and (now - last_report > 1.0 or self.step == tc.steps):
                    last_report = now
                    self.progress.update(self.step, loss=round(logged["total"], 4), flow_px=round(logged["flow"], 3))
            if checkpoint:
                self.checkpointer.save(self.state_dict())
        self.flush()
        self.checkpointer.save(self.state_dict(done=True))
        self.progress.end()
