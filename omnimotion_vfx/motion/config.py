"""Settings of the per-clip motion field (field.py): how densely trajectories are seeded and how a pixel
between them takes its motion. Pixel scales are given on a 256-pixel raster, like the fusion's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..dotted_overrides import apply_overrides
from ..errors import InputError


@dataclass
class MotionConfig:
    node_spacing_px: float = 4.0  # seed trajectories this far apart (256 raster): 64 x 64 on a square clip
    keyframe_every: int = 8  # re-seed where no visible trajectory is within reach, every this many frames
    cell_capacity: int = 4  # trajectories kept per spatial cell (the cell is one node spacing wide)
    motion_sigma_px: float = 0.5  # a pixel's adjacent flow and a trajectory's step agree within about this
    unmatched_agreement: float = 0.2  # agreement of a trajectory whose step cannot be compared (hidden there)
    affine_prior: float = 0.05  # pull of the local affine fit towards a pure translation (avoids wild extrapolation)
    chunk: int = 1 << 16  # pixels per lookup step: bounds memory on HD frames

    def with_overrides(self, overrides: dict[str, Any]) -> "MotionConfig":
        """Field overrides, e.g. {"node_spacing_px": 6.0} (the user writes `motion.node_spacing_px`)."""
        out = apply_overrides(self, overrides, "motion", prefix="motion.")
        out.check()
        return out

    def check(self) -> None:
        """Settings a user can override: one clear line before any flow."""
        for name in ("node_spacing_px", "motion_sigma_px"):
            if not getattr(self, name) > 0:
                raise InputError(f"motion.{name} must be above 0, got {getattr(self, name)!r}")
        for name in ("keyframe_every", "cell_capacity", "chunk"):
            if getattr(self, name) < 1:
                raise InputError(f"motion.{name} must be 1 or more, got {getattr(self, name)!r}")
        if not 0.0 <= self.unmatched_agreement <= 1.0:
            raise InputError(f"motion.unmatched_agreement is a weight, 0 to 1; got {self.unmatched_agreement!r}")
        if not self.affine_prior >= 0:
            raise InputError(f"motion.affine_prior must be 0 or more, got {self.affine_prior!r}")
