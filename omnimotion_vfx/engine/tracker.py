"""The public API: `tracker = fit(video, correspondences, config, ...)`, then `tracks, visible = tracker(queries)`.

Inference as published: the query ray's max-weight sample is the tracked surface point; it is mapped to every
frame through canonical space, and it is occluded where the opacity in front of it on the target frame's ray
exceeds the threshold, or where it lands outside the image. Work is chunked so dense queries keep memory bounded.
These are the model's own tracks: the product fuses them with the input flow on top
(tracking/fused_tracker.py), which the engine does not know about.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..clip_geometry import ClipGeometry
from ..errors import StaleFit
from ..flow.correspondences import Correspondences
from ..progress import NullProgress, ProgressReporter, StopToken
from .checkpoint import Checkpointer, fingerprint
from .config import EngineConfig
from .determinism import deterministic_mode
from .model import OmniMotionModel
from .model_factory import build_model
from .sampler import PairSampler
from .trainer import Trainer


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when present; on GPU TF32 matmuls are enabled (CPU stays plain float32)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            from ..errors import InputError

            raise InputError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu or auto")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return torch.device(name)


class EngineTracker:
    """The fitted model's own answer: `tracks, visible = tracker(queries)` in plate frames and pixels, and
    `map_points` for the model's dense mapping (ablations; the product's dense outputs read the motion field)."""

    def __init__(self, model: OmniMotionModel, geometry: ClipGeometry, config: EngineConfig, device: torch.device,
                 history: list | None = None, events: list | None = None, fit_summary: dict | None = None) -> None:
        self.model = model.eval()
        self.geometry = geometry
        self.config = config
        self.device = device
        self.history = history or []
        self.events = events or []
        self.fit_summary = fit_summary or {}  # steps done, seconds, what ended the fit (goes into the manifest)

    def __call__(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index, xy = self.geometry.to_internal(queries)
        tracks, visible = self.track_internal(index, xy)
        return self.geometry.to_plate(tracks), visible

    def track_internal(self, index: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """0-based query frames [N] and processing pixels [N, 2] -> tracks [N, T, 2] px, visible [N, T]."""
        t = self.model.num_frames
        n = len(index)
        tracks = np.zeros((n, t, 2), np.float32)
        visible = np.zeros((n, t), bool)
        per_chunk = max(1, self.config.inference.chunk // t)
        with torch.no_grad():
            codes = self.model.latent()
            for start in range(0, n, per_chunk):
                sl = slice(start, start + per_chunk)
                src = torch.from_numpy(np.asarray(index[sl], np.int64)).to(self.device)
                canonical = self.model.max_weight_canonical(src, self.model.normalise(torch.from_numpy(xy[sl]).to(self.device)), codes)
                m = len(canonical)
                dst = torch.arange(t, device=self.device).repeat(m)
                mapped, vis = self._map_canonical(canonical.repeat_interleave(t, 0), dst, codes)
                tracks[sl] = mapped.reshape(m, t, 2)
                visible[sl] = vis.reshape(m, t)
        visible[np.arange(n), index] = True
        tracks[np.arange(n), index] = xy
        return tracks, visible

    def _map_canonical(self, canonical: torch.Tensor, dst: torch.Tensor, codes: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        points = self.model.bijection.inverse(canonical, dst, codes)
        opacity = self.model.opacity_in_front(dst, points, codes)
        px = self.model.to_pixels(points[:, :2])
        w, h = self.model.size
        inside = (px[:, 0] >= 0) & (px[:, 0] <= w) & (px[:, 1] >= 0) & (px[:, 1] <= h)
        visible = inside & (opacity <= self.config.inference.occlusion_threshold)
        return px.cpu().numpy(), visible.cpu().numpy()

    def map_points(self, src_frame: int, xy: np.ndarray, dst_frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions xy [N, 2] (plate pixels) at plate frame src_frame -> [N, 2] at dst_frame and visible [N]."""
        src, dst = self.geometry.frame_index(src_frame), self.geometry.frame_index(dst_frame)
        pts = self.geometry.points_to_internal(xy)
        if src == dst:
            return self.geometry.to_plate(pts), np.ones(len(pts), bool)
        out, vis = self.map_internal(src, pts, dst)
        return self.geometry.to_plate(out), vis

    def map_internal(self, src: int, pts: np.ndarray, dst: int) -> tuple[np.ndarray, np.ndarray]:
        """Processing pixels pts [N, 2] float32 at 0-based frame src -> [N, 2] at dst and visible [N]. Every point
        in one pass, chunked: bounded memory for every pixel of a frame."""
        out = np.zeros_like(pts)
        vis = np.zeros(len(pts), bool)
        step = self.config.inference.chunk
        with torch.no_grad():
            codes = self.model.latent()
            for start in range(0, len(pts), step):
                chunk = torch.from_numpy(pts[start:start + step]).to(self.device)
                s = torch.full((len(chunk),), src, device=self.device)
                canonical = self.model.max_weight_canonical(s, self.model.normalise(chunk), codes)
                mapped, visible = self._map_canonical(canonical, torch.full_like(s, dst), codes)
                out[start:start + step], vis[start:start + step] = mapped, visible
        return out, vis


def fit(video: np.ndarray, correspondences: Correspondences, config: EngineConfig, geometry: ClipGeometry | None = None,
        work_dir: Path | None = None, progress: ProgressReporter | None = None, stop: StopToken | None = None,
        reload_only: bool = False) -> EngineTracker:
    """Fit the model to one clip (uint8 [T, H, W, 3] and its correspondences), resuming or reloading from
    `work_dir` when it holds a checkpoint of the same plate and settings; returns the tracker.
    `reload_only`: take the finished fit in `work_dir` as it is (even if the schedule now plans more steps) and
    raise `StaleFit` where there is none, so that reading a results folder never trains over its fit."""
    device = resolve_device(config.device)
    with deterministic_mode(config.trainer.deterministic, device):
        t, h, w = video.shape[:3]
        torch.manual_seed(config.trainer.seed)
        model = build_model(t, (w, h), config).to(device)
        if config.trainer.compile:  # in place, so state_dict keys (and checkpoints) stay the same
            model.bijection.compile()
            model.canonical.compile()
        sampler = PairSampler(video, correspondences, config.sampler, config.trainer.seed, device)
        checkpointer = Checkpointer(work_dir, fingerprint(video, correspondences, config))
        trainer = Trainer(model, sampler, config, device, checkpointer, progress or NullProgress(), stop)
        state = checkpointer.load()
        if reload_only and (state is None or not state.get("done")):
            raise StaleFit(checkpointer.rejected or f"{checkpointer.path} holds an unfinished fit (step {state['step']})")
        if state is not None:
            trainer.load_state_dict(state)
        # A reload keeps a finished fit as it is: a longer schedule in today's preset does not continue the results' fit.
        unfinished = state is None or not state.get("done") or (trainer.step < config.trainer.steps and not trainer.budget_spent())
        if unfinished and not reload_only:
            trainer.fit()
        geometry = geometry or ClipGeometry(tuple(range(t)))
        return EngineTracker(model, geometry, config, device, trainer.history, trainer.events, trainer.summary())
