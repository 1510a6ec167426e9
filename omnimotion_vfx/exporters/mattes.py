"""Occlusion mattes: where a region chosen on a reference frame is visible in every frame.

Each pixel of frame t is carried to the reference frame by the tracker; the matte is the region's anti-aliased
coverage there, times the tracker's visibility. Pulling from the reference frame (instead of pushing the region
forward) leaves no holes where the surface stretches, and an occluder in front of the region maps to where the
occluder is on the reference frame, outside the region, so it reads 0. Edges of occluders are anti-aliased by
supersampling each pixel with `samples` x `samples` sub-pixel positions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..errors import InputError
from ..io.exr_writer import write_exr
from ..progress import NullProgress, ProgressReporter, StopToken
from ..results.dense import MapPoints, map_frame
from .dense_maps import frame_path

_RASTER = 4  # polygon supersampling per axis


def polygon_coverage(polygon: Sequence[Sequence[float]], size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased coverage float32 [H, W] of a polygon given in internal pixels (origin top-left): the
    fraction of 4 x 4 sub-pixel centres inside it (even-odd rule), computed a band of rows at a time."""
    points = np.asarray(polygon, np.float64).reshape(-1, 2)
    if len(points) < 3:
        raise InputError(f"a region polygon needs at least 3 points, got {len(points)}; e.g. '10,10 200,10 100,150'")
    width, height = size
    sub = (np.arange(_RASTER) + 0.5) / _RASTER
    xs = (np.arange(width)[:, None] + sub[None, :]).ravel()
    coverage = np.empty((height, width), np.float32)
    edges = list(zip(points, np.roll(points, -1, axis=0)))
    band = max(1, 4096 // _RASTER)
    for start in range(0, height, band):
        stop = min(height, start + band)
        ys = (np.arange(start, stop)[:, None] + sub[None, :]).ravel()[:, None]
        inside = np.zeros((len(ys), len(xs)), bool)
        for (x0, y0), (x1, y1) in edges:
            if y0 == y1:
                continue
            crosses = (y0 <= ys) != (y1 <= ys)
            x_at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
            inside ^= crosses & (xs[None, :] < x_at)
        counts = inside.reshape(stop - start, _RASTER, width, _RASTER).mean(axis=(1, 3))
        coverage[start:stop] = counts
    return coverage


def mask_coverage(path: str, size: tuple[int, int]) -> np.ndarray:
    """Coverage float32 [H, W] from a mask image (its first channel, or alpha when it has one), resized to the
    plate when a proxy-size mask is given."""
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(path)
    if buf.has_error or buf.spec().width == 0:
        raise InputError(f"cannot read region mask {path}: {buf.geterror()}; give a PNG/EXR/TIFF matte")
    names = list(buf.spec().channelnames)
    channel = names.index("A") if "A" in names else 0
    pixels = np.asarray(buf.get_pixels(oiio.FLOAT), np.float32).reshape(buf.spec().height, buf.spec().width, -1)
    mask = np.clip(pixels[..., channel], 0.0, 1.0)
    if (mask.shape[1], mask.shape[0]) != tuple(size):
        mask = cv2.resize(mask, tuple(size), interpolation=cv2.INTER_AREA)
    return mask


def parse_polygon(text: str) -> list[tuple[float, float]]:
    """'x,y x,y x,y' (internal pixels) -> points."""
    try:
        return [(float(a), float(b)) for a, b in (pair.split(",") for pair in text.split())]
    except ValueError:
        raise InputError(f"cannot read polygon {text!r}; write it as 'x,y x,y x,y' in pixels, origin top-left") from None


def matte_frame(map_points: MapPoints, frame: int, reference: int, coverage: np.ndarray, samples: int = 2) -> np.ndarray:
    """Matte of `frame` float32 [H, W]: 1 where the region's surface is visible, 0 where occluded or outside."""
    height, width = coverage.shape
    total = np.zeros((height, width), np.float32)
    steps = (np.arange(samples, dtype=np.float32) + 0.5) / samples - 0.5
    for dy in steps:
        for dx in steps:
            there, visible = map_frame(map_points, frame, reference, (width, height), offset=(dx, dy))
            inside = cv2.remap(coverage, there[..., 0] - 0.5, there[..., 1] - 0.5, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
            total += inside * visible
    return total / (samples * samples)


def write_mattes(
    map_points: MapPoints, frames: list[int], reference: int, coverage: np.ndarray, folder: Path, *,
    samples: int = 2, half: bool = False, compression: str = "zip", progress: ProgressReporter | None = None,
    stop: StopToken | None = None,
) -> list[Path]:
    """One single-channel EXR per frame (channel `A`, Nuke's alpha), named matte.<frame>.exr."""
    progress = progress or NullProgress()
    written = []
    progress.begin(f"mattes from frame {reference}", len(frames))
    for i, frame in enumerate(frames):
        if stop is not None:
            stop.raise_if_requested(f"mattes written up to frame {frames[i - 1] if i else '-'}")
        matte = matte_frame(map_points, frame, reference, coverage, samples)
        written.append(write_exr(frame_path(folder, "matte", frame), matte, ("A",), half=half,
                                 compression=compression, attributes={"omnivfx:frame": int(frame)}))
        progress.update(i + 1)
    progress.end()
    return written
