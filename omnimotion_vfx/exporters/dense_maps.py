"""Dense motion for Nuke from the fitted tracker: motion-vector EXRs and an STMap sequence to one frame.

Both are computed from `map_points` (the engine's correspondences), never from the input flow, and streamed one
frame at a time: memory is a few frame-sized arrays whatever the clip length.

- Motion vectors (Nuke's reserved layers): `forward.u/v` at a pixel of frame t is where that surface point is at
  frame t+1 minus where it is now; `backward.u/v` the same towards t-1. Signed pixels in Nuke's axes (x right,
  y up), so `v = -(dy)` of the internal y-down offset. `visibility.forward/backward` is 1 where the point is
  visible in the next/previous frame; the first frame's backward and the last frame's forward are 0.
- STMap: R = u, G = v, the reference-frame position of each pixel's surface point, normalised with origin
  bottom-left and pixel centres at +0.5: u = x / W, v = 1 - y / H, so the identity map holds (c + 0.5) / W in
  column c. A holds visibility at the reference frame. Stored in float32 (half would quantise u to 1/2048,
  about 0.4 px at 854 wide).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.exr_writer import write_exr
from ..progress import NullProgress, ProgressReporter, StopToken
from ..results.dense import MapPoints, map_frame, pixel_centres

MOTION_CHANNELS = ("forward.u", "forward.v", "backward.u", "backward.v", "visibility.forward", "visibility.backward")
STMAP_CHANNELS = ("R", "G", "A")


def frame_path(folder: Path, prefix: str, frame: int) -> Path:
    return folder / f"{prefix}.{int(frame):04d}.exr"


def motion_frame(map_points: MapPoints, frames: list[int], index: int, size: tuple[int, int]) -> np.ndarray:
    """The six motion channels of frame `frames[index]` as float32 [H, W, 6]."""
    width, height = size
    here = pixel_centres(width, height).reshape(height, width, 2)
    out = np.zeros((height, width, 6), np.float32)
    for step, channel in ((1, 0), (-1, 2)):
        other = index + step
        if not 0 <= other < len(frames):
            continue
        there, visible = map_frame(map_points, frames[index], frames[other], size)
        offset = there - here
        out[..., channel] = offset[..., 0]
        out[..., channel + 1] = -offset[..., 1]
        out[..., 4 + channel // 2] = visible
    return out


def stmap_frame(map_points: MapPoints, frame: int, reference: int, size: tuple[int, int]) -> np.ndarray:
    """R, G, A of the STMap that warps the reference frame onto `frame`, float32 [H, W, 3]."""
    width, height = size
    there, visible = map_frame(map_points, frame, reference, size)
    return np.dstack([there[..., 0] / width, 1.0 - there[..., 1] / height, visible.astype(np.float32)])


def write_motion_vectors(
    map_points: MapPoints, frames: list[int], size: tuple[int, int], folder: Path, *, half: bool = False,
    compression: str = "zip", progress: ProgressReporter | None = None, stop: StopToken | None = None,
) -> list[Path]:
    progress = progress or NullProgress()
    written = []
    progress.begin("motion vectors", len(frames))
    for i, frame in enumerate(frames):
        if stop is not None:
            stop.raise_if_requested(f"motion vectors written up to frame {frames[i - 1] if i else '-'}")
        pixels = motion_frame(map_points, frames, i, size)
        path = frame_path(folder, "motion", frame)
        written.append(write_exr(path, pixels, MOTION_CHANNELS, half=half, compression=compression,
                                 attributes={"omnivfx:frame": int(frame)}))
        progress.update(i + 1)
    progress.end()
    return written


def write_stmaps(
    map_points: MapPoints, frames: list[int], reference: int, size: tuple[int, int], folder: Path, *,
    compression: str = "zip", progress: ProgressReporter | None = None, stop: StopToken | None = None,
) -> list[Path]:
    progress = progress or NullProgress()
    written = []
    progress.begin(f"stmap to frame {reference}", len(frames))
    for i, frame in enumerate(frames):
        if stop is not None:
            stop.raise_if_requested(f"stmaps written up to frame {frames[i - 1] if i else '-'}")
        path = frame_path(folder, "stmap", frame)
        written.append(write_exr(path, stmap_frame(map_points, frame, reference, size), STMAP_CHANNELS,
                                 half=(False, False, True), compression=compression,
                                 attributes={"omnivfx:frame": int(frame), "omnivfx:reference_frame": int(reference)}))
        progress.update(i + 1)
    progress.end()
    return written
