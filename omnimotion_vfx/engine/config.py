"""Engine configuration: one dataclass per piece, named presets, and a JSON round trip.

Every preset is a complete `EngineConfig`; the whole config is stored with each checkpoint so a fit can be
resumed or reproduced from its work folder alone (and a changed config never silently resumes an old fit).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

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

    def check(self) -> None:
        """Trainer settings a user can override: one clear line before any flow, not a traceback mid-fit."""
        _at_least("trainer", self, ("steps", "decay_every", "checkpoint_every", "bad_steps_before_restore"), 1)
        for name in ("lr_latent", "lr_bijection", "lr_canonical"):
            if not getattr(self, name) > 0:
                raise InputError(f"trainer.{name} is a learning rate, above 0; got {getattr(self, name)!r}")
        if not 0.0 < self.decay <= 1.0:
            raise InputError(f"trainer.decay multiplies the learning rate, above 0 and at most 1; got {self.decay!r}")
        if not self.time_budget_s >= 0:
            raise InputError(f"trainer.time_budget_s is seconds of fitting, 0 (no limit) or more; got {self.time_budget_s!r}")


@dataclass
class InferenceConfig:
    occlusion_threshold: float = 0.99  # opacity in front of the mapped point above this -> occluded
    occlusion_eps_bins: float = 1.1  # eps = this * depth span / samples
    chunk: int = 4096  # query points per chunk (bounded memory for dense maps)
    refine: bool = False  # fuse the fitted tracks with the input adjacent flow (track_refinement.py)
    refine_model_weight: float = 0.003  # pull of the fitted track on frames the walk does not reach, vs one flow link
    refine_walk_weight: float = 0.3  # pull of the walk's position on frames it reaches, vs one flow link
    refine_link_cost_px: float = 0.5  # walk: cost of one link, added to its cycle error (256 raster): fewer links win
    refine_cycle_sigma_px: float = 0.5  # re-solve: a link's weight falls as a Gaussian of its cycle error
    refine_iterations: int = 4
    refine_sigma_start_px: float = 16.0  # robust scale of the first iteration (256 raster), halved each iteration
    refine_sigma_px: float = 2.0  # final robust scale
    refine_smoothness: float = 3.0  # weight of the squared acceleration of the track (per frame, vs one link)
    refine_consensus_smoothness: float = 0.1  # the same in the link-consensus solve that visibility checks against
    refine_visibility: str = "flow"  # "flow" | "model" | "both" (track_refinement.py)
    refine_visibility_px: float = 1.0  # a link agrees with a visible track within about this (256 raster)
    refine_support: float = 0.5  # agreeing-link weight that joins two frames
    refine_disagreement_px: float = 4.0  # track vs link consensus beyond this -> occluded (256 raster)
    reacquire: bool = True  # re-find lost frames from the query's surface (surface_reacquisition.py); needs refine
    reacquire_spacing_px: float = 12.0  # support grid spacing (256 raster)
    reacquire_radius_px: float = 48.0  # supports within this of the query in its frame (256 raster)
    reacquire_inlier_px: float = 1.5  # a support is on the query's surface within this of its affine map (256 raster)
    reacquire_ncc: float = 0.6  # the warped query patch must correlate above this with the image there
    reacquire_half_ncc: float = 0.7  # or one half of the patch (left/right/top/bottom, centre included) above this:
    # a point beside an edge (its surface's or an occluder's) is seen by the half on its own side; above 1 = off
    reacquire_patch_px: int = 5  # patch radius for that check (processing pixels)
    reacquire_search_px: int = 0  # the check also tries positions this many whole pixels around the prediction
    reacquire_pull: float = 3.0  # pull of a re-found position in the re-solve, vs one flow link (the walk's is 0.3)
    reacquire_visible: bool = True  # also place visible frames by the surface's prediction where the image confirms it
    reacquire_visible_px: float = 8.0  # ... and it lies within this of the fused track (256 raster)
    redetect: bool = True  # then search frames still lost for the query's patch (appearance_redetection.py); needs reacquire
    redetect_scales: tuple[float, ...] = (0.85, 1.0, 1.18)  # patch scales tried (surfaces grow and shrink while hidden)
    redetect_ncc: float = 0.85  # the best match in the frame must correlate above this ...
    redetect_margin: float = 0.1  # ... and this much above the best match elsewhere (4 px or more away)
    redetect_back_px: float = 2.0  # the match searched back over the query frame lands this near the query (256 raster)
    redetect_confirm_px: float = 2.0  # a flow link carries a match this near another match or visible frame (256 raster)
    redetect_follow_ncc: float = 0.75  # neighbouring lost frames reached by flow from a match keep it above this

    def check(self) -> None:
        """Fusion settings a user can override: a clear error before minutes of flow and fitting, not a
        traceback from inside the fusion."""
        if self.refine_visibility not in ("flow", "model", "both"):
            raise InputError(f"inference.refine_visibility must be flow, model or both, got {self.refine_visibility!r}")
        positive = ("refine_sigma_px", "refine_sigma_start_px", "reacquire_spacing_px", "reacquire_radius_px",
                    "reacquire_inlier_px", "reacquire_patch_px", "reacquire_pull", "reacquire_visible_px",
                    "redetect_back_px", "redetect_confirm_px")
        for name in positive:
            if not getattr(self, name) > 0:
                raise InputError(f"inference.{name} must be above 0, got {getattr(self, name)!r}")
        for name in ("refine_iterations", "reacquire_search_px"):
            if getattr(self, name) < 0:
                raise InputError(f"inference.{name} must be 0 or more, got {getattr(self, name)!r}")
        if not -1.0 <= self.reacquire_ncc <= 1.0:
            raise InputError(f"inference.reacquire_ncc is a correlation, -1 to 1; got {self.reacquire_ncc!r}")
        for name in ("redetect_ncc", "redetect_follow_ncc"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"inference.{name} is a correlation, -1 to 1; got {getattr(self, name)!r}")
        if not 0.0 <= self.redetect_margin <= 2.0:
            raise InputError(f"inference.redetect_margin is a difference of correlations, 0 to 2; got {self.redetect_margin!r}")
        if not self.redetect_scales or not all(isinstance(s, (int, float)) and 0.25 <= s <= 4 for s in self.redetect_scales):
            raise InputError(f"inference.redetect_scales are patch scales, each 0.25 to 4 (like [0.85, 1.0, 1.18]); "
                             f"got {list(self.redetect_scales)!r}")
        if not -1.0 <= self.reacquire_half_ncc:
            raise InputError(f"inference.reacquire_half_ncc is a correlation, -1 to 1 (above 1 turns the half-patch check off); "
                             f"got {self.reacquire_half_ncc!r}")


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
        out = copy.deepcopy(self)
        for key, value in overrides.items():
            target: Any = out
            parts = key.split(".")
            for part in parts[:-1]:
                target = getattr(target, part, None)
            if target is None or not hasattr(target, parts[-1]):
                raise InputError(f"unknown engine setting {key!r}; see docs/engine.md for the config fields")
            setattr(target, parts[-1], _as_type_of(key, getattr(target, parts[-1]), value))
        out.sampler.check()
        out.trainer.check()
        out.inference.check()
        return out


def _as_type_of(key: str, current: Any, value: Any) -> Any:
    """An override value of the setting's own type (JSON gives ints for whole floats): a string where a
    number belongs would otherwise fail deep inside the fit."""
    kind = type(current)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is tuple and isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        wanted = {int: "a whole number", float: "a number", bool: "true or false", str: "text", tuple: "a list"}.get(kind, kind.__name__)
        raise InputError(f"engine setting {key!r} takes {wanted} (like {json.dumps(current, default=repr)}), "
                         f"got {json.dumps(value, default=repr)}")
    return value


def _at_least(section: str, config: Any, names: tuple[str, ...], low: int) -> None:
    for name in names:
        if getattr(config, name) < low:
            raise InputError(f"{section}.{name} must be {low} or more, got {getattr(config, name)!r}")


def _paper() -> EngineConfig:
    return EngineConfig(name="paper")


def _volumetric() -> EngineConfig:
    """CPU-sized volumetric engine (the published architecture, smaller): narrower nets, 6 samples, a few hundred
    steps at higher learning rates, smooth latent codes, and the fitted tracks fused with the input flow (where
    the measured gain comes from, docs/engine.md). `default` until 2026-12-02."""
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
        inference=InferenceConfig(refine=True),
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
    tiny MLPs, large batches, few steps at high learning rates; fused with the flow like `volumetric`."""
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
        inference=InferenceConfig(refine=True),
    )


def _default() -> EngineConfig:
    """The `fast` architecture: on the standard clips it ties `volumetric` on AJ (85.5 both) with better OA and
    is 2.4x faster end to end (docs/engine.md), so it is what `--preset default` fits."""
    cfg = _fast()
    cfg.name = "default"
    return cfg


PRESETS = {"paper": _paper, "default": _default, "volumetric": _volumetric, "preview": _preview, "test": _test,
           "fast": _fast}


def preset(name: str) -> EngineConfig:
    """A fresh copy of preset `name`."""
    if name not in PRESETS:
        raise InputError(f"unknown engine preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()
