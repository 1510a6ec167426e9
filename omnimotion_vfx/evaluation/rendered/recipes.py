"""What each rendered clip contains: a recipe of seed, size, camera move and scene elements (no bpy here).

A recipe is all a clip is: the Blender scene builder turns it into geometry, materials, lights and animation,
the ground truth follows from that geometry, and the cache key is a hash of the recipe. The elements map to what
real shots do (issue 20): parallax from a moving camera over 3-D geometry, objects spinning so their surface
turns away and back, bending and twisting bars and waving cloth, thin poles and branches, articulated arms,
moving and changing light, glossy surfaces, motion blur, handheld shake and zoom, fast movers, flat colour
regions and sensor noise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

CAMERA_MOVES = ("dolly", "orbit", "handheld", "push", "sweep")


@dataclass(frozen=True)
class RenderedClip:
    """One clip of the rendered suite. Distances are metres, angles degrees, speeds per frame."""

    name: str
    seed: int
    width: int = 256
    height: int = 256
    frames: int = 48
    camera: str = "dolly"  # one of CAMERA_MOVES
    camera_speed: float = 1.0  # scales the camera move (dolly metres, orbit degrees, sweep amplitude)
    shake: float = 0.0  # handheld rotation jitter, degrees
    zoom: float = 0.0  # focal length swings by exp(+-zoom)
    props: int = 6  # static boxes, spheres, cylinders, cones, Suzanne heads on the ground
    spinners: int = 0  # objects turning about their own axis: their surface rotates out of view and back
    movers: int = 0  # objects crossing the view in front of the others
    mover_speed: float = 0.08  # metres per frame
    benders: int = 0  # bars that bend and twist
    cloths: int = 0  # waving sheets
    poles: int = 0  # thin poles and branches between the camera and the set
    arms: int = 0  # two-segment arms swinging at the shoulder and the elbow
    textureless: float = 0.0  # share of surfaces with one flat colour
    glossy: float = 0.2  # share of surfaces with a sharp specular highlight
    moving_light: bool = False  # the sun sweeps, so shadows move
    light_change: float = 0.0  # sun strength swings by this fraction
    motion_blur: bool = False
    noise: float = 1.5  # sensor noise sigma, 8-bit levels, added after the render
    samples: int = 16  # Cycles samples per pixel (denoised)
    tracks: int = 48  # ground-truth trajectories; a third picked in frame 0, so long clips have long-range points

    def __post_init__(self) -> None:
        if self.camera not in CAMERA_MOVES:
            raise ValueError(f"unknown camera move {self.camera!r}; choose one of {', '.join(CAMERA_MOVES)}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RenderedClip":
        return cls(**json.loads(text))

    def key(self, generator_version: int) -> str:
        """Cache key: the recipe and the generator's version, so a changed generator never reuses old frames."""
        digest = hashlib.sha256(f"{generator_version}:{self.to_json()}".encode()).hexdigest()[:12]
        return f"{self.name}-{digest}"


RENDERED_SUITES: dict[str, list[RenderedClip]] = {
    # One short clip for the tests: a few seconds of Cycles.
    "rendered-tiny": [
        RenderedClip("tiny-dolly", seed=11, width=96, height=96, frames=10, camera="dolly", props=4, spinners=1,
                     movers=1, samples=4, tracks=24),
    ],
    "rendered": [
        RenderedClip("parallax-dolly-256", seed=201, frames=48, camera="dolly", camera_speed=1.2, props=9, poles=2),
        RenderedClip("orbit-spinners-256", seed=202, frames=48, camera="orbit", camera_speed=1.0, props=4,
                     spinners=3, glossy=0.4),
        RenderedClip("bend-twist-256", seed=203, frames=40, camera="handheld", shake=0.4, props=3, benders=2,
                     cloths=1),
        RenderedClip("cloth-shake-480", seed=204, width=480, height=270, frames=48, camera="handheld", shake=0.8,
                     zoom=0.15, props=4, cloths=2, light_change=0.35),
        RenderedClip("thin-poles-256", seed=205, frames=48, camera="dolly", camera_speed=1.6, props=3, poles=9),
        RenderedClip("fast-movers-256", seed=206, frames=32, camera="handheld", shake=0.3, props=4, movers=3,
                     mover_speed=0.45, motion_blur=True),
        RenderedClip("whip-pan-480", seed=207, width=480, height=270, frames=32, camera="sweep", camera_speed=0.6,
                     props=7, motion_blur=True),
        RenderedClip("textureless-256", seed=208, frames=40, camera="push", camera_speed=1.0, zoom=0.2, props=6,
                     movers=1, textureless=0.6, noise=3.0),
        RenderedClip("specular-light-480", seed=209, width=480, height=270, frames=40, camera="orbit",
                     camera_speed=0.8, props=6, spinners=1, glossy=0.8, moving_light=True, light_change=0.3),
        RenderedClip("arms-256", seed=210, frames=48, camera="handheld", shake=0.3, props=3, arms=2, movers=1),
        RenderedClip("long-sweep-256", seed=211, frames=120, camera="sweep", camera_speed=1.0, props=8, spinners=1,
                     movers=2, benders=1, poles=2, moving_light=True, tracks=36),
        RenderedClip("long-orbit-480", seed=212, width=480, height=270, frames=100, camera="orbit",
                     camera_speed=1.6, props=6, spinners=1, cloths=1, poles=2, light_change=0.2, tracks=36),
    ],
}
