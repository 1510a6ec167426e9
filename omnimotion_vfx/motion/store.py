"""The seeded field kept in the work folder: built once after the fit, reloaded by `load_fitted` for export,
pin and the daemon instead of being seeded again. Keyed by a fingerprint of everything it depends on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .adjacent_flow import AdjacentFlow
from .config import MotionConfig
from .field import MotionField
from .trajectories import Trajectories

FIELD_FILE = "field.npz"


def load_field(folder: Path, fingerprint: str, adjacent: AdjacentFlow | None, config: MotionConfig,
               device: str = "cpu") -> MotionField | None:
    """The stored field when it was built from the same inputs (fingerprint), else None."""
    path = Path(folder) / FIELD_FILE
    if not path.exists():
        return None
    try:
        nodes, meta = Trajectories.load(path)
        if str(meta["fingerprint"]) != fingerprint:
            return None
        size = tuple(int(v) for v in meta["size"])
    except (OSError, ValueError, KeyError):  # load_npz reports any damage to the archive as ValueError
        return None  # damaged or foreign: seed again
    return MotionField(nodes, size, adjacent, config, device)


def save_field(folder: Path, fingerprint: str, field: MotionField) -> Path:
    """Seeded trajectories only: query tracks live in the results' tracks.npz and join when loaded."""
    seeded = ~field.nodes.is_query
    nodes = Trajectories(field.nodes.positions[seeded], field.nodes.visible[seeded], field.nodes.anchor[seeded],
                         field.nodes.is_query[seeded])
    path = Path(folder) / FIELD_FILE
    nodes.save(path, fingerprint=np.array(fingerprint), size=np.array(field.size),
               config=np.array(json.dumps(field.config.__dict__, sort_keys=True)))
    return path
