"""`omnivfx pin` as a library call: solve the pin on a fitted tracker, render every frame, write EXRs.

Output layout (all scene-linear float EXR, one file per plate frame):
- `--out`: R, G, B, A = the warped graphic, premultiplied and already held out; `holdout.Y` = the holdout
  matte. With `over=True`: R, G, B, A = the graphic over the plate (A = 1), and the graphic alone moves to
  `pin.R, pin.G, pin.B, pin.A`.
- `--stmap DIR`: `DIR/stmap.####.exr` with R = u, G = v (graphic position, normalised, bottom-left origin,
  u = x / W with pixel centres at +0.5, the exporters' STMap convention), A = the graphic's coverage, and
  `holdout.Y`. Float32 throughout: half would quantise u to 1/2048.
`holdout.Y`: a single grey channel in its own layer (OpenEXR's Y = luminance); Nuke shows it as layer
`holdout`, channel `Y`, and it cannot collide with Nuke's built-in `mask` layer.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import InputError
from ..io.exr_writer import write_exr
from ..progress import NullProgress, ProgressReporter, StopToken
from .graphic import GraphicSource, srgb_decode
from .motion import apply_homography
from .render import PinRenderer
from .solve import PinSolve

HOLDOUT_CHANNEL = "holdout.Y"
STMAP_NAME = "stmap.%04d.exr"  # as the exporters name their STMaps


@dataclass
class PinOutputs:
    """Where and what to write."""

    out: str | None = None  # frame pattern, e.g. comp.%04d.exr or comp.####.exr
    over: bool = False
    stmap_dir: str | None = None


@dataclass
class PinReport:
    frames: list[int]
    written: list[str] = field(default_factory=list)
    seconds_per_frame: float = 0.0
    held_frames: list[int] = field(default_factory=list)  # too little visible surface: the last good motion held
    least_visible: float = 1.0  # smallest share of the region's points the tracker saw in any frame
    results_dir: str | None = None  # the results folder whose fit carried the pin (`run_pin_job`)
    reused_fit: bool = False  # True: that folder's fit was reloaded; False: fitted now and recorded there


def frame_path(pattern: str, frame: int) -> str:
    """`comp.%04d.exr` / `comp.####.exr` (Nuke: one digit per #) / `comp.@@@@.exr` -> the path of `frame`."""
    match = re.search(r"%0?(\d*)d|#+|@+", os.path.basename(pattern))
    if match is None:
        raise InputError(f"--out {pattern!r} has no frame number pattern; write it like comp.%04d.exr or comp.####.exr")
    token = match.group(0)
    width = int(match.group(1) or 1) if token.startswith("%") else len(token)
    head = pattern[: len(pattern) - len(os.path.basename(pattern))]
    name = os.path.basename(pattern)
    return head + name[: match.start()] + f"{frame:0{width}d}" + name[match.end() :]


def run_pin(
    solve: PinSolve,
    graphic: GraphicSource,
    outputs: PinOutputs,
    mode: str = "planar",
    plate_frames: "PlateFrames | None" = None,
    progress: ProgressReporter | None = None,
    stop: StopToken | None = None,
) -> PinReport:
    """Render and write every frame of the solved pin; `plate_frames` is needed for `over`."""
    progress = progress or NullProgress()
    stop = stop or StopToken()
    if outputs.out is None and outputs.stmap_dir is None:
        raise InputError("nothing to write: give --out comp.%04d.exr and/or --stmap DIR")
    if outputs.over and plate_frames is None:
        raise InputError("--over needs the plate's pixels")
    renderer = PinRenderer(solve, mode)
    shape = mask_in_graphic(solve)
    report = PinReport(list(solve.frames), held_frames=[f for f in solve.frames if solve.fits[f].held],
                       least_visible=min(solve.fits[f].visible_fraction for f in solve.frames))
    progress.begin("pin", len(solve.frames))
    t0 = time.monotonic()
    for step, frame in enumerate(solve.frames):
        stop.raise_if_requested(f"after {step} pinned frames")
        pixels = graphic.frame(frame) if shape is None else graphic.frame(frame) * shape
        result = renderer.frame(frame, pixels, with_stmap=outputs.stmap_dir is not None)
        if outputs.out is not None:
            channels = _graphic_channels(result.rgba, result.holdout)
            if outputs.over:
                channels = _over(channels, plate_frames.linear(step))
            path = frame_path(outputs.out, frame)
            report.written.append(_write(path, channels, frame))
        if outputs.stmap_dir is not None:
            path = os.path.join(outputs.stmap_dir, STMAP_NAME % frame)
            stmap = {"R": result.stmap[..., 0], "G": result.stmap[..., 1], "A": result.coverage, HOLDOUT_CHANNEL: result.holdout}
            report.written.append(_write(path, stmap, frame))
        progress.update(step + 1, visible=round(solve.fits[frame].visible_fraction, 3))
    progress.end()
    report.seconds_per_frame = (time.monotonic() - t0) / max(1, len(solve.frames))
    return report


class PlateFrames:
    """The plate's own pixels in scene-linear light at full resolution (for the composite over it)."""

    def __init__(self, plate) -> None:
        self.plate = plate

    def linear(self, index: int) -> np.ndarray:
        from ..io.image_reader import read_image

        if self.plate.sequence.is_video:
            return srgb_decode(self.plate.read(index))
        decoded = read_image(self.plate.sequence.paths[index], self.plate.layer)
        return decoded.pixels if decoded.scene_linear else srgb_decode(decoded.pixels)


def mask_in_graphic(solve: PinSolve) -> np.ndarray | None:
    """The --mask seen from the graphic ([gh, gw, 1]), so the graphic keeps only the masked part: a paint
    patch shaped by the artist's matte. None without a mask."""
    mask = solve.placement.mask
    if mask is None:
        return None
    gw, gh = solve.graphic_size
    u, v = np.meshgrid(np.arange(gw) + 0.5, np.arange(gh) + 0.5)
    xy = apply_homography(solve.graphic_to_ref, np.stack([u.ravel(), v.ravel()], axis=1)).reshape(gh, gw, 2).astype(np.float32)
    shaped = cv2.remap(mask, xy[..., 0] - 0.5, xy[..., 1] - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return shaped[..., None]


def _write(path: str, channels: dict[str, np.ndarray], frame: int) -> str:
    write_exr(path, np.stack(list(channels.values()), axis=-1), list(channels), attributes={"omnivfx:frame": int(frame)})
    return path


def _graphic_channels(rgba: np.ndarray, holdout: np.ndarray) -> dict[str, np.ndarray]:
    return {"R": rgba[..., 0], "G": rgba[..., 1], "B": rgba[..., 2], "A": rgba[..., 3], HOLDOUT_CHANNEL: holdout}


def _over(channels: dict[str, np.ndarray], plate: np.ndarray) -> dict[str, np.ndarray]:
    """Premultiplied graphic over the linear plate; the graphic itself kept as the `pin` layer."""
    alpha = channels["A"]
    comp = {c: channels[c] + plate[..., i] * (1.0 - alpha) for i, c in enumerate("RGB")}
    return {
        **comp,
        "A": np.ones_like(alpha),
        "pin.R": channels["R"], "pin.G": channels["G"], "pin.B": channels["B"], "pin.A": alpha,
        HOLDOUT_CHANNEL: channels[HOLDOUT_CHANNEL],
    }
