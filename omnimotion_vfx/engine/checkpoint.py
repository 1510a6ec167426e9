"""Checkpoints in <results>/work/engine: periodic, on stop, and the finished fit (reloaded instantly later).

A checkpoint carries the full config and a fingerprint of the plate, the correspondences and the fit-relevant
settings; a run only resumes from a checkpoint whose fingerprint matches, so changed inputs never resume a stale fit.
A reload (`fit(..., reload_only=True)`: export, pin, the daemon reading a results folder) never trains: a checkpoint
it cannot use is a `StaleFit` naming why, instead of a fresh fit written over the one the results came from.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..file_modes import publish
from ..flow.correspondences import Correspondences
from .config import EngineConfig


def fingerprint(video: np.ndarray, correspondences: Correspondences, config: EngineConfig) -> str:
    """Hash of what determines the fitted model. Inference-only settings, the device, the step count and the time
    budget are left out (and `deterministic` when off): a finished fit is re-used by any inference setting, and raising trainer.steps or the
    budget continues it. So is the flow cache's folder: a results folder reached by another path or moved
    elsewhere reloads its fit (checkpoints written before this rule refit once)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(video[:, ::4, ::4]).tobytes())
    digest.update(repr(video.shape).encode())
    flow_params = {k: v for k, v in correspondences.params.items() if k != "cache"}
    digest.update(json.dumps(flow_params, sort_keys=True, default=str).encode())
    digest.update(repr(sorted(correspondences.pairs)).encode())
    fit_settings = {k: v for k, v in config.to_dict().items() if k not in ("inference", "device")}
    fit_settings["trainer"] = {k: v for k, v in fit_settings["trainer"].items() if k not in ("checkpoint_every", "compile", "steps", "time_budget_s", "log_every")}
    if not fit_settings["trainer"]["deterministic"]:  # checkpoints from before the setting keep their fingerprint
        del fit_settings["trainer"]["deterministic"]
    digest.update(json.dumps(fit_settings, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def fit_identity(fingerprint: str, step: int, fit_seconds: float) -> str:
    """Names one fit: the same after every reload of its checkpoint, new whenever training changed it (the
    summed fitting seconds differ between any two fits). The stored motion field is keyed by it."""
    return hashlib.sha256(f"{fingerprint}:{step}:{fit_seconds!r}".encode()).hexdigest()[:16]


class Checkpointer:
    def __init__(self, folder: Path | None, fingerprint: str) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.fingerprint = fingerprint
        self.rejected = ""  # why the last `load` returned None: no checkpoint, unreadable, other settings

    @property
    def path(self) -> Path | None:
        return self.folder / "checkpoint.pt" if self.folder is not None else None

    def load(self) -> dict[str, Any] | None:
        """The saved state if it belongs to this plate and these settings, else None (start fresh)."""
        if self.path is None or not self.path.exists():
            self.rejected = f"no engine checkpoint in {self.folder}" if self.folder is not None else "no work folder"
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except (OSError, RuntimeError, EOFError) as exc:
            self.rejected = f"{self.path} is unreadable ({type(exc).__name__})"
            return None
        if state.get("fingerprint") != self.fingerprint:
            self.rejected = (f"{self.path} was fitted on other plate pixels, flow or engine settings "
                             f"(fingerprint {state.get('fingerprint')}, these settings give {self.fingerprint})")
            return None
        self.rejected = ""
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Atomic write: a kill during the save leaves the previous checkpoint intact."""
        if self.path is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(dict(state, fingerprint=self.fingerprint), tmp)
        publish(tmp, self.path)
        with open(self.folder / "events.jsonl", "w") as handle:
            for event in state.get("events", []):
                handle.write(json.dumps(event) + "\n")
