"""Dense flow engines behind one call: `backend(i, j, init) -> float32 [H, W, 2]` between frames of a clip.

DIS (OpenCV) is the weight-free default. RAFT (torchvision) is optional and only loads weights from a file the
user names: the product never downloads a model. `torch` is a weight-free TV-L1 on the run's device
(torch_flow.py), for GPU hosts. A backend with a `many(requests)` method solves several pairs in one call.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import InputError
from .config import FlowConfig

_DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


class FlowBackend(Protocol):
    def __call__(self, i: int, j: int, init: np.ndarray | None = None) -> np.ndarray: ...


def flows_of(backend: FlowBackend, requests: list[tuple[int, int, np.ndarray | None]]) -> list[np.ndarray]:
    """The flows of several (i, j, init) requests: in one batched call where the backend has one."""
    many = getattr(backend, "many", None)
    if many is not None:
        return many(requests)
    return [backend(i, j, init) for i, j, init in requests]


def batch_pairs(backend: FlowBackend) -> int:
    """How many frame pairs (two flows each) one task should hand the backend at once."""
    return max(1, getattr(backend, "batch_flows", 1) // 2)


class DisBackend:
    """OpenCV DIS on grey frames; one DIS object per thread (they are not thread-safe, and calc releases the
    GIL, so a thread pool over pairs uses every core)."""

    def __init__(self, video: np.ndarray, preset: str = "medium", finest_scale: int | None = 0) -> None:
        self.gray = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in video]
        self.preset = _DIS_PRESETS[preset]
        self.finest_scale = finest_scale
        self._local = threading.local()

    def __call__(self, i: int, j: int, init: np.ndarray | None = None) -> np.ndarray:
        dis = getattr(self._local, "dis", None)
        if dis is None:
            dis = self._local.dis = cv2.DISOpticalFlow_create(self.preset)
            if self.finest_scale is not None:
                dis.setFinestScale(self.finest_scale)
        guess = None if init is None else np.ascontiguousarray(init, np.float32)
        return dis.calc(self.gray[i], self.gray[j], guess)


class RaftBackend:
    """torchvision's raft_large with a local state dict; the warm start is ignored (torchvision has none)."""

    def __init__(self, video: np.ndarray, weights: str | None) -> None:
        if not weights:
            raise InputError("the raft flow backend needs a weights file: set raft_weights to a torchvision raft_large .pth, or use backend dis")
        if not Path(weights).is_file():
            raise InputError(f"RAFT weights file not found: {weights}; download raft_large weights once and name that file")
        if importlib.util.find_spec("torchvision") is None:  # checked before importing torch (seconds)
            raise InputError("the raft flow backend needs torchvision: pip install torchvision, or use backend dis")
        import torch
        from torchvision.models.optical_flow import raft_large

        self._torch = torch
        self.model = raft_large(weights=None, progress=False)
        self.model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.model.eval()
        self.video = video
        self._lock = threading.Lock()

    def __call__(self, i: int, j: int, init: np.ndarray | None = None) -> np.ndarray:
        torch = self._torch
        h, w = self.video.shape[1:3]
        ph, pw = -h % 8, -w % 8

        def tensor(frame: np.ndarray):
            x = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 127.5 - 1.0
            return torch.nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")

        with self._lock, torch.inference_mode():
            flows = self.model(tensor(self.video[i]), tensor(self.video[j]))
        return flows[-1][0, :, :h, :w].permute(1, 2, 0).numpy().astype(np.float32)


def resolve_backend(config: FlowConfig, device: str) -> FlowConfig:
    """`backend="auto"` (an opt-in, not the default) made concrete for the run's device (cpu | cuda | auto): the
    torch flow on CUDA, which leaves the CPU free, DIS everywhere else. Only an `auto` device imports torch to
    look for a GPU."""
    if config.backend != "auto":
        return config
    on_cuda = device == "cuda"
    if device == "auto" and importlib.util.find_spec("torch") is not None:
        import torch

        on_cuda = torch.cuda.is_available()
    return dataclasses.replace(config, backend="torch" if on_cuda else "dis")


def make_backend(config: FlowConfig, video: np.ndarray, device: str = "cpu") -> FlowBackend:
    """The configured backend; `device` (cpu | cuda | auto) is where the torch backend runs (DIS is CPU-only)."""
    config = resolve_backend(config, device)
    if config.backend == "raft":
        return RaftBackend(video, config.raft_weights)
    if config.backend == "torch":
        from .torch_flow import TorchFlowBackend, TvL1Settings  # torch loads only when asked for

        settings = TvL1Settings(levels=config.torch_levels, warps=config.torch_warps, iterations=config.torch_iterations,
                                lam=config.torch_lambda, texture=config.torch_texture)
        return TorchFlowBackend(video, settings, device, config.torch_batch)
    return DisBackend(video, config.dis_preset, config.dis_finest_scale)
