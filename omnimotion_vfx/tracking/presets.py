"""Run presets: one `--preset` names the flow, the engine and the flow-fusion settings of a run together.

`OMNIVFX_ENGINE_OVERRIDES` (and `TrackerContext.overrides`) change single settings of the chosen preset:
dotted engine fields as in engine/config.py ({"trainer.steps": 500}) and fusion fields as `fusion.NAME`
({"fusion.refine_smoothness": 2.0}) and flow fields as `flow.NAME` ({"flow.backend": "torch"}, docs/flow.md). The fusion's settings used to live in the engine config as
`inference.refine*`, `inference.reacquire*` and `inference.redetect*`; those keys are still accepted for one
release and mean the same `fusion.*` field (`inference.refine` is `fusion.enabled`).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

from ..engine.config import EngineConfig
from ..engine.config import preset as engine_preset
from ..errors import InputError
from ..flow import FlowConfig
from ..fusion.config import FusionConfig
from ..motion.config import MotionConfig

FUSION_PREFIX = "fusion."
MOTION_PREFIX = "motion."
FLOW_PREFIX = "flow."
LEGACY_FUSION_PREFIXES = ("inference.refine_", "inference.reacquire", "inference.redetect")


@dataclass
class RunConfig:
    name: str
    flow: FlowConfig
    engine: EngineConfig
    fusion: FusionConfig
    motion: MotionConfig = dataclasses.field(default_factory=MotionConfig)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "flow": dataclasses.asdict(self.flow), "engine": self.engine.to_dict(),
                "fusion": dataclasses.asdict(self.fusion), "motion": dataclasses.asdict(self.motion)}

    def with_overrides(self, overrides: dict[str, Any]) -> "RunConfig":
        """A copy with dotted overrides applied: `fusion.NAME` (or a legacy `inference.*` fusion key) to the
        fusion, `flow.NAME` to the flow, every other key to the engine; unknown keys and out-of-range values are
        an InputError."""
        engine: dict[str, Any] = {}
        fusion: dict[str, Any] = {}
        motion, rest = split_motion_overrides(overrides)
        flow, rest = split_flow_overrides(rest)
        for key, value in rest.items():
            name = fusion_field(key)
            if name is None:
                engine[key] = value
            else:
                fusion[name] = value
        return RunConfig(self.name, self.flow.with_overrides(flow), self.engine.with_overrides(engine),
                         self.fusion.with_overrides(fusion), self.motion.with_overrides(motion))


def split_motion_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`motion.NAME` overrides by NAME, every other override): every tracker has a motion field."""
    motion = {k[len(MOTION_PREFIX):]: v for k, v in overrides.items() if k.startswith(MOTION_PREFIX)}
    return motion, {k: v for k, v in overrides.items() if not k.startswith(MOTION_PREFIX)}


def split_flow_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`flow.NAME` overrides by NAME, every other override): the omnimotion and chained-flow trackers both
    compute flow, so both take these."""
    flow = {k[len(FLOW_PREFIX):]: v for k, v in overrides.items() if k.startswith(FLOW_PREFIX)}
    return flow, {k: v for k, v in overrides.items() if not k.startswith(FLOW_PREFIX)}


def fusion_field(key: str) -> str | None:
    """The FusionConfig field an override key names, or None for an engine key."""
    if key.startswith(FUSION_PREFIX):
        return key[len(FUSION_PREFIX):]
    if key == "inference.refine":
        return "enabled"
    if key.startswith(LEGACY_FUSION_PREFIXES):
        return key[len("inference."):]
    return None


# DIS "fast" flows had 4x the median error of "medium" on the suite and cost the engine ~20 AJ: every CPU
# preset uses the default flow; `test` uses the adjacent-only schedule to stay tiny. Every preset but `paper`
# (the published method: the model's own tracks) fuses the fitted tracks with the flow links.
#     run preset:   (flow preset, engine preset, fusion settings)
RUN_PRESETS: dict[str, tuple[str, str, FusionConfig]] = {
    "paper": ("paper", "paper", FusionConfig(enabled=False)),
    "default": ("default", "default", FusionConfig(enabled=True)),
    "volumetric": ("default", "volumetric", FusionConfig(enabled=True)),
    "preview": ("default", "preview", FusionConfig(enabled=True)),
    "quality": ("default", "quality", FusionConfig(enabled=True)),
    "fast": ("default", "fast", FusionConfig(enabled=True)),
    "test": ("adjacent", "test", FusionConfig(enabled=True)),
}

# One line per run preset for `--help`, the daemon's `capabilities` and the host bridges' menus.
PRESET_SUMMARIES: dict[str, str] = {
    "default": "production default: the fast architecture fused with the flow (docs/engine.md)",
    "preview": "a quick look: the default model fitted for 120 steps instead of 300",
    "quality": "long shots: the default model fitted for 3,000 steps, about 3x default's time on a 100-frame shot",
    "volumetric": "the published volumetric model, CPU-sized: slower than default, same accuracy",
    "fast": "the fast architecture (what default fits)",
    "paper": "the published method and settings, no flow fusion (slowest)",
    "test": "tiny settings for smoke runs; not meant to be accurate",
}


def run_preset(name: str) -> RunConfig:
    """A fresh copy of run preset `name`."""
    if name not in RUN_PRESETS:
        raise InputError(f"unknown engine preset {name!r}; choose one of {', '.join(sorted(RUN_PRESETS))}")
    flow, engine, fusion = RUN_PRESETS[name]
    return RunConfig(name, FlowConfig.preset(flow), engine_preset(engine), copy.deepcopy(fusion), motion_preset(name))


def motion_preset(name: str) -> MotionConfig:
    """The motion field's settings of a preset: `test` seeds a coarse field to stay tiny, the rest the default."""
    return MotionConfig(node_spacing_px=16.0, keyframe_every=4) if name == "test" else MotionConfig()
