"""Tiny real plates for the I/O and CLI tests, written with OpenImageIO (and OpenCV for video).

A smooth random texture translates by a known amount per frame, so tracks have a known answer.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture in [0, 1] (float32 [H, W]): trackable by flow at any proxy size."""
    rng = np.random.default_rng(seed)
    noise = rng.random((height, width)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0) + 0.5 * cv2.GaussianBlur(noise, (0, 0), 6.0)
    return (smooth - smooth.min()) / (smooth.max() - smooth.min())


def translating_frames(count: int, size: tuple[int, int], step: tuple[float, float], seed: int = 0) -> list[np.ndarray]:
    """`count` RGB frames (float32 [H, W, 3], display-referred) of a texture moving by `step` (dx, dy) per frame."""
    width, height = size
    margin = int(np.ceil(max(abs(step[0]), abs(step[1])) * count)) + 4
    big = texture(height + 2 * margin, width + 2 * margin, seed)
    rgb = np.stack([big, 0.8 * big + 0.1, 1.0 - 0.7 * big], axis=-1)
    frames = []
    for i in range(count):
        # inverse map: pixel (x, y) of frame i samples the big texture at (x - i*dx, y - i*dy) + margin
        shift = np.float32([[1, 0, margin - step[0] * i], [0, 1, margin - step[1] * i]])
        frames.append(cv2.warpAffine(rgb, shift, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
    return frames


def write_image(path: str | Path, pixels: np.ndarray, pixel_type: str = "half", channels: list[str] | None = None, **window: int) -> Path:
    """Write one image with OpenImageIO; `window` sets ImageSpec fields (x, y, full_x, full_y, full_width, full_height)."""
    path = Path(path)
    height, width = pixels.shape[:2]
    nchannels = 1 if pixels.ndim == 2 else pixels.shape[2]
    spec = oiio.ImageSpec(width, height, nchannels, pixel_type)
    if channels:
        spec.channelnames = tuple(channels)
    for key, value in window.items():
        setattr(spec, key, value)
    if window and "full_width" not in window:
        spec.full_width, spec.full_height = width, height
    out = oiio.ImageOutput.create(str(path))
    assert out is not None and out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, np.float32)), out.geterror()
    out.close()
    return path


def to_linear(display: np.ndarray) -> np.ndarray:
    """Inverse sRGB: what a scene-linear render of a display-referred texture holds."""
    return np.where(display <= 0.04045, display / 12.92, ((display + 0.055) / 1.055) ** 2.4).astype(np.float32)


def write_plate(
    folder: str | Path,
    count: int = 10,
    size: tuple[int, int] = (96, 64),
    step: tuple[float, float] = (2.0, 1.0),
    first: int = 1001,
    name: str = "plate",
    extension: str = "exr",
    pixel_type: str = "half",
    digits: int = 4,
    seed: int = 0,
) -> str:
    """A translating-texture plate `name.%0Nd.ext` numbered from `first`; EXR frames hold scene-linear values."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(translating_frames(count, size, step, seed)):
        pixels = to_linear(frame) if extension == "exr" else frame
        write_image(folder / f"{name}.{first + i:0{digits}d}.{extension}", pixels, pixel_type)
    return str(folder / f"{name}.%0{digits}d.{extension}")


def write_video(path: str | Path, count: int = 10, size: tuple[int, int] = (96, 64), step: tuple[float, float] = (2.0, 1.0)) -> Path:
    """An mp4 (mp4v codec, the one OpenCV writes headless here) of the translating texture."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24.0, size)
    assert writer.isOpened()
    for frame in translating_frames(count, size, step):
        writer.write(np.round(frame[..., ::-1] * 255).astype(np.uint8))
    writer.release()
    return path


def truncate(path: str | Path, keep: float = 0.5) -> None:
    """Cut a real file short, as a crashed render or copy leaves it."""
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(int(size * keep))
