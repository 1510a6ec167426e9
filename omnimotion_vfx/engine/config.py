"""Engine configuration: one dataclass per piece, named presets, and a JSON round trip.

Every preset is a complete `EngineConfig`; the whole config is stored with each checkpoint so a fit can be
resumed or reproduced from its work folder alone (and a changed config never silently resumes an old fit).
These are the model's settings only: the run presets (tracking/presets.py) pair each with its flow and
flow-fusion settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..dotted_overrides import apply_overrides
from ..errors import InputError


@dataclass
class LatentConfig:
    kind: str = "gabor"  # "gabor": GaborNet of t (published) | "smooth": per-frame table, Gaussian-smoothed in time
    dim: int = 128
    hidden: int = 256
    layers: int = 2
    alpha: float = 4.5
    input_scale: float = 256.0  # GaborNet input frequency scale; lower -> smoother codes over time
    smooth_sigma: float = 1.5  # frames, for kind="smooth"


@dataclass
class BijectionConfig:
    layers: int = 6
    hidden: int = 256
    depth: int = 3  # hidden layers of the (s, t) MLP after the merge with the latent projection
    frequencies: int = 4  # positional-encoding octaves of the kept coordinates
    latent_hidden: int = 128  # per-layer projection of the frame code
    max_log_scale: float = 8.0  # published clamp; tanh-bounded here so gradients never vanish at the bound
    affine_prewarp: bool = False
    kind: str = "mlp"  # "mlp": published couplings | "grid": feature-grid couplings with tiny MLPs (grid_bijection.py)
    grid_levels: int = 4  # multi-resolution 2-D feature planes per coupling (kind="grid")
    grid_base: int = 4  # resolution of the coarsest plane; each level doubles it
    grid_channels: int = 4


@dataclass
class CanonicalConfig:
    hidden: int = 512
    layers: int = 3
    alpha: float = 3.0
    input_scale: float = 256.0


@dataclass
class RenderConfig:
    samples: int = 32
    depth_range: tuple[float, float] = (0.0, 2.0)
    lifting: str = "volumetric"  # "volumetric": K ray samples (published) | "single_depth": per-frame depth maps
    depth_resolution: int = 16  # per-frame depth map size (lifting="single_depth")


@dataclass
class LossConfig:
    flow: float = 1.0
    photometric_max: float = 10.0
    photometric_ramp_steps: int = 50_000  # weight min(step / (ramp / max), max): 0 -> max over this many steps
    photometric_gradient: bool = True
    flow_gradient_max: float = 0.1
    flow_gradient_ramp_steps: int = 500_000
    acceleration: float = 20.0
    acceleration_fraction: float = 0.25
    depth_range: float = 10.0
    distortion_max: float = 10.0
    distortion_start: int = 40_000
    distortion_full: int = 60_000


@dataclass
class SamplerConfig:
    pairs_per_step: int = 8
    points_per_pair: int = 256
    max_gap_start: int = 20
    max_gap_every: int = 2000  # max gap grows by one every this many steps (curriculum)
    error_cache_every: int = 20_000  # hard mining: render adjacent-pair flow errors this often (0 = never)
    error_fraction: float = 0.5  # pixels drawn from the error map (rest uniform) once a cache exists

    def check(self) -> None:
        """Sampler settings a user can override: one clear line before any flow, not a traceback mid-fit."""
        _at_least("sampler", self, ("pairs_per_step", "points_per_pair", "max_gap_start", "max_gap_every"), 1)
        _at_least("sampler", self, ("error_cache_every",), 0)
        if not 0.0 <= self.error_fraction <= 1.0:
            raise InputError(f"sampler.error_fraction is a share of the pixels, 0 to 1; got {self.error_fraction!r}")


@dataclass
class TrainerConfig:
    steps: int = 100_000
    lr_latent: float = 1e-3
    lr_bijection: float = 1e-4
    lr_canonical: float = 3e-4
    decay_every: int = 20_000
    decay: float = 0.5
    checkpoint_every: int = 2_000
    bad_steps_before_restore: int = 3
    seed: int = 0
    compile: bool = False  # torch.compile the networks (GPU)
    time_budget_s: float = 0.0  # stop the fit after this many seconds of fitting (summed over resumes); 0 = no limit
    deterministic: bool = False  # torch's deterministic algorithms: bit-identical fits, slower (engine/determinism.py)
    log_every: int = 20  # read the step's losses back to the host this often (each read waits for the device)

    def check(self) -> None:
        """Trainer settings a user can override: one clear line before any flow, not a traceback mid-fit."""
        _at_least("trainer", self, ("steps", "decay_every", "checkpoint_every", "bad_steps_before_restore", "log_every"), 1)
        for name in ("lr_latent", "lr_bijection", "lr_canonical"):
            if not getattr(self, name) > 0:
                raise InputError(f"trainer.{name} is a learning rate, above 0; got {getattr(self, name)!r}")
        if not 0.0 < self.decay <= 1.0:
            raise InputError(f"trainer.decay multiplies the learning rate, above 0 and at most 1; got {self.decay!r}")
        if not self.time_budget_s >= 0:
            raise InputError(f"trainer.time_budget_s is seconds of fitting, 0 (no limit) or more; got {self.time_budget_s!r}")


@dataclass
class InferenceConfig:
    """The model's own inference; the flow-link fusion on top has its settings in fusion/config.py."""

    occlusion_threshold: float = 0.99  # opacity in front of the mapped point above this -> occluded
    occlusion_eps_bins: float = 1.1  # eps = this * depth span / samples
    chunk: int = 4096  # query points per chunk (bounded memory for dense maps)


@dataclass
class EngineConfig:
    name: str = "paper"
    latent: LatentConfig = field(default_factory=LatentConfig)
    bijection: BijectionConfig = field(default_factory=BijectionConfig)
    canonical: CanonicalConfig = field(default_factory=CanonicalConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EngineConfig":
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            sub = f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
            if dataclasses.is_dataclass(sub):
                known = {g.name for g in dataclasses.fields(sub)}
                value = type(sub)(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in value.items() if k in known})
            kwargs[f.name] = value
        return cls(**kwargs)

    def with_overrides(self, overrides: dict[str, Any]) -> "EngineConfig":
        """Dotted overrides, e.g. {"trainer.steps": 200}; unknown keys are an input error."""
        out = apply_overrides(self, overrides, "engine")
        out.sampler.check()
        out.trainer.check()
        return out


def _at_least(section: str, config: Any, names: tuple[str, ...], low: int) -> None:
    for name in names:
        if getattr(config, name) < low:
            raise InputError(f"{section}.{name} must be {low} or more, got {getattr(config, name)!r}")


def _paper() -> EngineConfig:
    return EngineConfig(name="paper")


def _volumetric() -> EngineConfig:
    """CPU-sized volumetric engine (the published architecture, smaller): narrower nets, 6 samples, a few hundred
    steps at higher learning rates, smooth latent codes; its run preset fuses the fitted tracks with the input
    flow (where the measured gain comes from, docs/engine.md). `default` until 2026-12-02."""
    return EngineConfig(
        name="volumetric",
        latent=LatentConfig(kind="smooth", dim=32, smooth_sigma=1.0),
        bijection=BijectionConfig(layers=6, hidden=64, depth=2, frequencies=4, latent_hidden=32),
        canonical=CanonicalConfig(hidden=64, layers=2, input_scale=16.0),
        render=RenderConfig(samples=6),
        loss=LossConfig(photometric_max=1.0, photometric_ramp_steps=200, acceleration=2.0, acceleration_fraction=0.1,
                        distortion_max=0.1, distortion_start=150, distortion_full=250, flow_gradient_ramp_steps=5000),
        sampler=SamplerConfig(pairs_per_step=8, points_per_pair=128, max_gap_start=8, max_gap_every=10,
                              error_cache_every=150),
        trainer=TrainerConfig(steps=300, lr_latent=3e-3, lr_bijection=1e-3, lr_canonical=1e-3, decay_every=150,
                              checkpoint_every=50),
    )


def _preview() -> EngineConfig:
    """A quick look: the `default` architecture fitted for 120 steps instead of 300. On the five 256x256
    standard clips it scored 89.5 AJ against `default`'s 89.7 in about 60% of the time per clip (the fused
    result hardly depends on the fit there); on a 100-frame clip, where it does, 77.9 against 81.3
    (docs/engine.md). Until 2026-12-03 `preview` was the volumetric model with 4 samples and 150 steps."""
    cfg = _fast()
    cfg.name = "preview"
    cfg.trainer.steps = 120
    cfg.trainer.decay_every = 60
    cfg.loss.photometric_ramp_steps = 20
    cfg.sampler.error_cache_every = 40
    cfg.sampler.max_gap_every = 2  # the gap curriculum reaches the same longest gaps as in 300 steps
    return cfg


def _quality() -> EngineConfig:
    """Issue 24: the `default` model fitted ten times longer (3,000 steps, the same schedule stretched: the gap
    curriculum still reaches the longest gaps early, so the extra steps all see them). The fit is what carries a
    point across frames no flow link reaches; on the rendered suite's 100-120-frame clips it added 1.6-1.8 AJ
    (strided) and cut TC by a quarter to a third, for 3.2-3.4x `default`'s time on a 2-core CPU; on its 40-48-frame
    clips it changed nothing measurable for 5-8x the time, and on the 36-frame sample plate it scored 3.3 AJ below
    `default` (through the consensus check's pull to the fitted track, weakened on 2026-12-06: 90.95 vs 91.13 since,
    same flow): a preset for long shots (docs/engine.md, issue 24). Built on `_default()`, so it follows it."""
    cfg = _default()
    cfg.name = "quality"
    cfg.trainer.steps = 3000
    cfg.trainer.decay_every = 1500
    cfg.trainer.checkpoint_every = 500
    return cfg


def _test() -> EngineConfig:
    """Tiny settings for the test-suite and smoke runs: exercises every piece, not meant to be accurate."""
    cfg = _volumetric()
    cfg.name = "test"
    cfg.latent.dim = 8
    cfg.bijection = BijectionConfig(layers=4, hidden=16, depth=1, frequencies=2, latent_hidden=8)
    cfg.canonical = CanonicalConfig(hidden=16, layers=2, input_scale=8.0)
    cfg.render.samples = 4
    cfg.sampler = SamplerConfig(pairs_per_step=4, points_per_pair=32, max_gap_start=2, max_gap_every=10,
                                error_cache_every=20)
    cfg.trainer = TrainerConfig(steps=40, lr_latent=3e-3, lr_bijection=2e-3, lr_canonical=2e-3, decay_every=30,
                                checkpoint_every=10)
    cfg.loss.photometric_ramp_steps = 20
    cfg.loss.distortion_start, cfg.loss.distortion_full = 20, 30
    return cfg


def _fast() -> EngineConfig:
    """Issue 6: single-depth lifting (one point per pixel, per-frame depth maps) and feature-grid couplings with
    tiny MLPs, large batches, few steps at high learning rates; its run preset fuses it with the flow like
    `volumetric`'s."""
    return EngineConfig(
        name="fast",
        latent=LatentConfig(kind="smooth", dim=16, smooth_sigma=1.0),
        bijection=BijectionConfig(layers=6, hidden=32, kind="grid", grid_levels=4, grid_base=4, grid_channels=4),
        canonical=CanonicalConfig(hidden=16, layers=2, input_scale=8.0),
        render=RenderConfig(samples=1, lifting="single_depth", depth_resolution=16),
        loss=LossConfig(photometric_max=1.0, photometric_ramp_steps=50, acceleration=2.0, acceleration_fraction=0.1,
                        distortion_max=0.0, flow_gradient_ramp_steps=500),
        sampler=SamplerConfig(pairs_per_step=32, points_per_pair=256, max_gap_start=8, max_gap_every=5,
                              error_cache_every=100),
        trainer=TrainerConfig(steps=300, lr_latent=1e-2, lr_bijection=1e-2, lr_canonical=1e-2, decay_every=150,
                              checkpoint_every=100),
    )


def _default() -> EngineConfig:
    """The `fast` architecture: on the standard clips it ties `volumetric` on AJ (85.5 both) with better OA and
    is 2.4x faster end to end (docs/engine.md), so it is what `--preset default` fits."""
    cfg = _fast()
    cfg.name = "default"
    return cfg


PRESETS = {"paper": _paper, "default": _default, "volumetric": _volumetric, "preview": _preview, "quality": _quality,
           "test": _test, "fast": _fast}


def preset(name: str) -> EngineConfig:
    """A fresh copy of preset `name`."""
    if name not in PRESETS:
        raise InputError(f"unknown engine preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()
