"""FlowConfig: every setting that changes the correspondences, with named presets.

Pixel thresholds are given at 480 lines and scaled with the processing height, so one preset behaves the same
on a 256x256 test clip and on a 2K plate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import InputError

DIS_PRESETS = ("ultrafast", "fast", "medium")
BACKENDS = ("auto", "dis", "raft", "torch")
SCHEDULES = ("adjacent", "log", "exhaustive")
REFERENCE_LINES = 480.0


@dataclass
class FlowConfig:
    backend: str = "dis"  # dis (weight-free, CPU) | torch (weight-free TV-L1 on the run's device, flow/torch_flow.py)
    # | auto (torch on a CUDA device, else dis; resolved before any cache key or record) | raft (torchvision, needs
    # raft_weights). DIS stays the default everywhere: the torch flow measured 1.3 AJ below it (docs/flow.md).
    dis_preset: str = "medium"
    # pyramid level DIS stops at: 0 = full resolution (OpenCV's presets stop at 1 or 2, half or quarter size).
    # Full resolution cost 2.3x the flow time and gave chained flow +9 AJ and the engine +8 AJ (docs/flow.md).
    dis_finest_scale: int | None = 0
    raft_weights: str | None = None  # path of a torchvision raft_large state dict
    torch_levels: int = 0  # torch backend: pyramid levels, halving each; 0 = down to about 16 px
    torch_warps: int = 5  # torch backend: re-linearisations of the data term per level
    torch_iterations: int = 30  # torch backend: primal-dual iterations per warp
    torch_lambda: float = 0.15  # torch backend: data term weight against smoothness (grey levels 0-255)
    torch_texture: float = 0.9  # torch backend: share of the smooth image structure removed before matching (0-1)
    torch_batch: int = 8  # torch backend on CUDA: flows solved together (at most 2 on the CPU; not in the cache key)
    pairs: str = "log"  # adjacent | log (MFT: gaps 1, 2, 4, ..., T-1) | exhaustive (all N(N-1))
    max_gap: int | None = None  # None: up to T-1
    warm_start: bool = True  # long-gap flows start from the chained flow
    cycle_px: float = 3.0  # forward-backward error for a consistent match
    occluded_cycle_px: float = 4.5  # a "reliable occluded" match fails the single cycle by this much ...
    double_cycle_px: float = 3.0  # ... and passes the forward-backward-forward cycle
    occluded_max_gap: int = 0  # reliable-occluded masks for gaps up to this (0: none; nothing reads them yet, and
    # at 1080p they held 2 MB per adjacent pair)
    chain: bool = True  # chained matches where direct flow fails
    chain_cycle_px: float = 6.0  # forward-backward error of the two chains (drift every link hid)
    appearance_min_gap: int = 3  # direct matches from this gap on need appearance agreement
    appearance_radius_px: float = 6.0  # patch half-size (at 480 lines, at least 3) for the cross-correlation
    appearance_min_ncc: float = 0.5
    sparse: bool = False  # SIFT/ORB long-range matches where dense flow fails; nothing reads them yet (docs/flow.md)
    sparse_detector: str = "sift"  # sift | orb
    sparse_min_gap: int = 8
    sparse_ratio: float = 0.75
    sparse_max_features: int = 2000
    workers: int = 0  # threads over pairs; 0 = all cores (not part of the cache key)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InputError(f"unknown flow backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        if self.dis_preset not in DIS_PRESETS:
            raise InputError(f"unknown DIS preset {self.dis_preset!r}; choose one of {', '.join(DIS_PRESETS)}")
        if self.pairs not in SCHEDULES:
            raise InputError(f"unknown pair schedule {self.pairs!r}; choose one of {', '.join(SCHEDULES)}")
        if self.sparse_detector not in ("sift", "orb"):
            raise InputError(f"unknown sparse detector {self.sparse_detector!r}; choose sift or orb")
        if self.dis_finest_scale is not None and not 0 <= self.dis_finest_scale <= 4:
            raise InputError(f"dis_finest_scale must be 0-4 (0 = full resolution), got {self.dis_finest_scale}")
        if not 0 <= self.torch_levels <= 12:
            raise InputError(f"torch_levels must be 0-12 (0 = automatic), got {self.torch_levels}")
        for name in ("torch_warps", "torch_iterations", "torch_batch"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.torch_lambda > 0:
            raise InputError(f"torch_lambda must be positive, got {self.torch_lambda}")
        if not 0 <= self.torch_texture <= 1:
            raise InputError(f"torch_texture must be 0-1, got {self.torch_texture}")
        if self.max_gap is not None and self.max_gap < 1:
            raise InputError(f"max_gap must be at least 1, got {self.max_gap}")

    @classmethod
    def preset(cls, name: str, **overrides: object) -> "FlowConfig":
        """A named preset, optionally with some fields replaced."""
        if name not in FLOW_PRESETS:
            raise InputError(f"unknown flow preset {name!r}; choose one of {', '.join(FLOW_PRESETS)}")
        return FLOW_PRESETS[name].with_overrides(overrides)

    def with_overrides(self, overrides: dict[str, object]) -> "FlowConfig":
        """A copy with some fields replaced (the `flow.NAME` run overrides); unknown names are an InputError."""
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise InputError(f"unknown flow setting {unknown[0]!r}; the flow settings are {', '.join(sorted(fields))}")
        for name, value in overrides.items():
            current = getattr(self, name)
            wanted = (int, float) if type(current) is float else type(current)
            if current is not None and value is not None and (not isinstance(value, wanted) or isinstance(value, bool) != isinstance(current, bool)):
                raise InputError(f"flow setting {name} must be a {type(current).__name__}, got {value!r}")
        return dataclasses.replace(self, **overrides)

    def px(self, value_at_480: float, height: int) -> float:
        """A pixel threshold given at 480 lines, at this processing height."""
        return value_at_480 * height / REFERENCE_LINES

    def recorded(self) -> dict:
        """Every field, less the torch_* ones unless the torch backend runs: the engine's checkpoint fingerprint
        hashes this, so fits made before the torch backend existed still reload."""
        data = dataclasses.asdict(self)
        if self.backend != "torch":
            data = {k: v for k, v in data.items() if not k.startswith("torch_")}
        return data

    def dense_key(self) -> dict:
        """Fields that change a pair's dense flow and masks (the pair cache key; the schedule is separate)."""
        skip = {"pairs", "max_gap", "workers", "sparse", "sparse_detector", "sparse_min_gap", "sparse_ratio", "sparse_max_features",
                "torch_batch"}
        data = {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}
        if self.backend != "raft":
            data.pop("raft_weights")
        if self.backend != "torch":  # keys of DIS caches written before the torch backend stay the same
            data = {k: v for k, v in data.items() if not k.startswith("torch_")}
        else:
            data = {k: v for k, v in data.items() if not k.startswith("dis_")}
        return data

    def sparse_key(self) -> dict:
        return {k: getattr(self, k) for k in ("sparse_detector", "sparse_min_gap", "sparse_ratio", "sparse_max_features")}


FLOW_PRESETS: dict[str, FlowConfig] = {
    "preview": FlowConfig(dis_preset="fast"),
    "default": FlowConfig(),
    "paper": FlowConfig(pairs="exhaustive"),
    "adjacent": FlowConfig(pairs="adjacent"),  # same dense key as "default": shares gap-1 files
}
