"""Which per-video model a config asks for: the lifting is a sibling module chosen by `render.lifting`."""

from __future__ import annotations

from torch import nn

from .config import EngineConfig
from .model import OmniMotionModel
from .single_depth import SingleDepthModel


def build_model(num_frames: int, size: tuple[int, int], config: EngineConfig) -> nn.Module:
    """`"volumetric"`: the published ray-sample model; `"single_depth"`: one point per pixel (issue 6)."""
    if config.render.lifting == "single_depth":
        return SingleDepthModel(num_frames, size, config)
    if config.render.lifting == "volumetric":
        return OmniMotionModel(num_frames, size, config)
    raise ValueError(f"unknown lifting {config.render.lifting!r}")
