"""Build (or reload) a clip's motion field from the tracker that fitted it: the tracker seeds its own
trajectories, so the field carries exactly what that tracker knows (the fused flow links and, for the engine,
the fitted model where no link reaches)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Protocol

import numpy as np

from ..clip_geometry import ClipGeometry
from ..progress import NullProgress, ProgressReporter, StopToken
from .adjacent_flow import AdjacentFlow
from .config import MotionConfig
from .plate_motion import PlateMotion
from .seeding import seed_field
from .store import load_field, save_field


class NodeSource(Protocol):
    """What a tracker offers the field: its clip's size, its adjacent flow and tracks of many points at once."""

    num_frames: int
    size: tuple[int, int]  # (width, height) processing pixels

    def adjacent_flow(self) -> AdjacentFlow: ...

    def track_nodes(self, index: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """0-based frames [N] and processing pixels [N, 2] -> tracks [N, T, 2], visible [N, T]."""
        ...


def field_fingerprint(inputs: dict) -> str:
    """Everything the seeded trajectories depend on (plate, tracker settings, motion settings), hashed."""
    return hashlib.blake2b(json.dumps(inputs, sort_keys=True, default=str).encode(), digest_size=12).hexdigest()


def clip_motion(source: NodeSource, geometry: ClipGeometry, config: MotionConfig | None = None, fingerprint: str = "",
                folder: Path | None = None, device: str = "cpu", progress: ProgressReporter | None = None,
                stop: StopToken | None = None) -> PlateMotion:
    """The stored field when `folder` holds one built from the same inputs (`fingerprint`), else seeded now
    (and stored there). Without a folder the field lives in memory only."""
    config = config or MotionConfig()
    adjacent = source.adjacent_flow()
    field = load_field(folder, fingerprint, adjacent, config, device) if folder is not None else None
    if field is None:
        progress = progress or NullProgress()
        progress.begin("motion field", 1)
        field = seed_field(source.track_nodes, source.num_frames, source.size, adjacent, config, device, stop)
        progress.update(1, trajectories=len(field.nodes))
        progress.end()
        if folder is not None:
            save_field(folder, fingerprint, field)
    return PlateMotion(field, geometry)
