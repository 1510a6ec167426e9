"""Seed the field's trajectories: a grid on the first frame, then, every few frames, new seeds wherever no
visible trajectory is within reach (surfaces that come into view, stretch or were hidden on frame 0). Each
batch of seeds is tracked by the clip's own tracker, so the field carries what that tracker knows."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..progress import StopToken
from .adjacent_flow import AdjacentFlow
from .config import MotionConfig
from .field import MotionField
from .trajectories import Trajectories

TrackNodes = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""`track_nodes(frame_index [N], xy [N, 2]) -> (tracks [N, T, 2], visible [N, T])` in processing pixels."""

REACH = 1.0  # a grid site needs a seed when the nearest visible trajectory is beyond this many spacings


def grid_sites(size: tuple[int, int], spacing: float) -> np.ndarray:
    """float32 [M, 2]: cell centres of a `spacing` grid over the frame."""
    w, h = size
    xs = np.arange(spacing / 2, w, spacing, dtype=np.float32)
    ys = np.arange(spacing / 2, h, spacing, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1)


def keyframes(frames: int, every: int) -> list[int]:
    """Frames that get seeds: the first, every `every`-th and the last."""
    return sorted(set(range(0, frames, every)) | {frames - 1})


def seed_field(track_nodes: TrackNodes, frames: int, size: tuple[int, int], adjacent: AdjacentFlow | None,
               config: MotionConfig, device: str | torch.device = "cpu", stop: StopToken | None = None) -> MotionField:
    """The motion field of one clip, seeded and tracked keyframe by keyframe."""
    field = MotionField(Trajectories.empty(frames), size, adjacent, config, device)
    sites = grid_sites(size, field.spacing)
    for frame in keyframes(frames, config.keyframe_every):
        if stop is not None:
            stop.raise_if_requested(f"while seeding the motion field at frame {frame}")
        needed = sites if len(field.nodes) == 0 else sites[_uncovered(field, frame, sites)]
        if len(needed) == 0:
            continue
        tracks, visible = track_nodes(np.full(len(needed), frame, np.int64), needed)
        field.add(Trajectories(tracks.astype(np.float32), visible.astype(bool), np.full(len(needed), frame, np.int64),
                               np.zeros(len(needed), bool)))
    return field


def _uncovered(field: MotionField, frame: int, sites: np.ndarray) -> np.ndarray:
    """bool [M]: sites with no trajectory visible in `frame` within REACH spacings."""
    xy = torch.from_numpy(sites).to(field.device)
    cand = field.index(frame).candidates(xy)
    safe = cand.clamp(min=0)
    d2 = ((field.positions[safe, frame] - xy[:, None]) ** 2).sum(-1)
    d2 = torch.where(cand >= 0, d2, torch.full_like(d2, float("inf")))
    return (d2.min(1).values > (REACH * field.spacing) ** 2).cpu().numpy()
