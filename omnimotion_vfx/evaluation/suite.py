"""Named benchmark suites: each clip is a seed plus scene parameters, so a suite is rebuilt bit-for-bit anywhere.

- `tiny`: 3 small clips for tests (seconds).
- `standard`: 10 clips of 24-56 frames at 256x256 and 480x270 with camera motion, object motion and
  occlusions; the baseline table of docs/evaluation.md comes from it.
- `long`: 3 clips of 100-200 frames where chained flow drifts and points leave and come back.

Those three are planar: textures moved by 2-D similarity transforms, a quick smoke suite. The development suite
is `rendered` (rendered/recipes.py): 3-D scenes rendered by Blender with exact ground truth, 12 clips that move
like real footage; `rendered-tiny` is its one-clip test suite.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InputError
from .rendered.recipes import RENDERED_SUITES, RenderedClip
from .synthetic import SceneParams


@dataclass(frozen=True)
class ClipSpec:
    name: str
    params: SceneParams
    tracks: int = 48  # GT trajectories sampled per clip (each gives several strided queries)


def _wide(params: SceneParams) -> SceneParams:
    """480x270 version of a 256-wide clip: speeds scale with the width so the motion looks the same."""
    k = 480 / params.width
    return replace(params, width=480, height=270, camera_speed=params.camera_speed * k, object_speed=params.object_speed * k)


_STANDARD_256 = [
    ("pan-slow", SceneParams(seed=101, frames=24, objects=2, camera_speed=1.5, object_speed=2.0)),
    ("crossing", SceneParams(seed=102, frames=32, objects=3, camera_speed=2.0, object_speed=3.5)),
    ("spin-zoom", SceneParams(seed=103, frames=40, objects=3, camera_roll=12.0, camera_zoom=0.25, object_spin=3.0)),
    ("fast", SceneParams(seed=104, frames=48, objects=4, camera_speed=4.0, object_speed=5.0, photometric=True)),
    ("busy", SceneParams(seed=105, frames=56, objects=4, camera_speed=2.5, object_speed=3.0, photometric=True)),
]

SUITES: dict[str, list[ClipSpec] | list[RenderedClip]] = {
    "tiny": [
        ClipSpec("tiny-a", SceneParams(seed=1, width=128, height=128, frames=16, objects=2, camera_speed=1.0, object_speed=1.5), tracks=24),
        ClipSpec("tiny-b", SceneParams(seed=2, width=128, height=128, frames=20, objects=3, camera_speed=1.5, object_speed=2.0,
                                       photometric=True), tracks=24),
        ClipSpec("tiny-c", SceneParams(seed=3, width=128, height=128, frames=24, objects=2, camera_speed=1.0, object_speed=2.5,
                                       camera_roll=10.0), tracks=24),
    ],
    "standard": [ClipSpec(f"{name}-256", params) for name, params in _STANDARD_256]
    + [ClipSpec(f"{name}-480", _wide(replace(params, seed=params.seed + 100))) for name, params in _STANDARD_256],
    "long": [
        ClipSpec("long-100", SceneParams(seed=301, frames=100, objects=3, camera_speed=2.5, object_speed=3.0), tracks=32),
        ClipSpec("long-150", SceneParams(seed=302, frames=150, objects=3, camera_speed=2.0, object_speed=3.0, photometric=True), tracks=32),
        ClipSpec("long-200", SceneParams(seed=303, frames=200, objects=4, camera_speed=3.0, object_speed=3.5), tracks=32),
    ],
}


SUITES.update(RENDERED_SUITES)


def suite(name: str) -> list[ClipSpec] | list[RenderedClip]:
    if name not in SUITES:
        raise InputError(f"unknown suite {name!r}; choose one of {', '.join(SUITES)}")
    return SUITES[name]


def clips_matching(name: str, only: str) -> list[ClipSpec] | list[RenderedClip]:
    """The clips of suite `name` whose names contain one of the comma-separated parts of `only` (e.g.
    "crossing-256,fast-256" or "-480"), in suite order; an error when none does."""
    parts = [part for part in only.split(",") if part]
    specs = [spec for spec in suite(name) if any(part in spec.name for part in parts)]
    if not specs:
        raise InputError(f"no clip of suite {name!r} matches --only {only!r}")
    return specs
