"""Read one image frame through OpenImageIO (EXR, DPX, TIFF, PNG, JPEG) as float32 RGB (video: plate.py).

EXR details handled here: half or float, any channel names; `layer` picks `LAYER.R/G/B` (or `LAYER.r`...),
RGB otherwise; the data window is placed into the display window (pixels outside the data window are 0,
data outside the display window is cropped), so every frame comes back at the display resolution.
Pixels are decoded in strips of rows so that the frame itself is the only full-size float32 buffer.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import OpenImageIO as oiio

from ..errors import InputError
from .c_stderr import held_c_stderr

NOISY_EXTENSIONS = {".png", ".jpg", ".jpeg"}
DAMAGE_WORDS = ("premature end", "truncat", "corrupt")
STRIP_ROWS = 64  # rows decoded per call (a multiple of EXR's 16/32-row chunks); temporaries are strip-sized


@dataclass(frozen=True)
class ImageInfo:
    """What an artist checks before tracking: size, channels, layers, pixel type, windows."""

    width: int
    height: int
    channels: tuple[str, ...]
    pixel_type: str
    scene_linear: bool
    data_window: tuple[int, int, int, int] = (0, 0, 0, 0)  # x, y, width, height
    display_window: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def layers(self) -> list[str]:
        return _layers(self.channels)


@dataclass
class DecodedFrame:
    """One frame over its display window, already in the working encoding."""

    pixels: np.ndarray  # float32 [H, W, 3]
    scene_linear: bool
    had_nonfinite: bool  # NaN/Inf pixels were found and replaced by 0


Converter = Callable[[np.ndarray, bool], np.ndarray]


def read_info(path: str) -> ImageInfo:
    """Header only: cheap enough to call on every frame of a plate."""
    with _held_if_noisy(path):
        inp = _open(path)
    try:
        spec = inp.spec()
        return ImageInfo(
            width=spec.full_width or spec.width,
            height=spec.full_height or spec.height,
            channels=tuple(spec.channelnames),
            pixel_type=str(spec.format),
            scene_linear=_is_scene_linear(path, spec),
            data_window=(spec.x, spec.y, spec.width, spec.height),
            display_window=(spec.full_x, spec.full_y, spec.full_width or spec.width, spec.full_height or spec.height),
        )
    finally:
        inp.close()


def check_layer(path: str, channels: tuple[str, ...], layer: str | None) -> None:
    """Fail early (before any pixel is read) when the layer or RGB channels are not there."""
    _rgb_channel_indices(path, list(channels), layer)


def read_image(path: str, layer: str | None = None, convert: Converter | None = None) -> DecodedFrame:
    """Decode in strips of rows: each strip is picked (RGB or `layer`), cleaned of NaN/Inf, converted with
    `convert(strip, scene_linear)` and placed into the display window. The result is the only full-size
    float32 buffer, which is what keeps a long 4K plate streamable (docs/plates.md)."""
    with _held_if_noisy(path):
        return _decode(path, layer, convert)


def _decode(path: str, layer: str | None, convert: Converter | None) -> DecodedFrame:
    inp = _open(path)
    try:
        spec = inp.spec()
        indices = _rgb_channel_indices(path, list(spec.channelnames), layer)
        lo, hi = min(indices), max(indices) + 1
        pick = [i - lo for i in indices]
        scene_linear = _is_scene_linear(path, spec)
        full_w, full_h = spec.full_width or spec.width, spec.full_height or spec.height
        out = np.zeros((full_h, full_w, 3), np.float32)
        # columns of the data window that land inside the display window (the rest is cropped)
        x0 = max(spec.x, spec.full_x)
        x1 = min(spec.x + spec.width, spec.full_x + full_w)
        nonfinite = False
        for y_begin, y_end, rows in _strips(inp, spec, lo, hi, path):
            top, bottom = max(y_begin, spec.full_y), min(y_end, spec.full_y + full_h)
            if bottom <= top or x1 <= x0:
                continue
            strip = rows[top - y_begin : bottom - y_begin, x0 - spec.x : x1 - spec.x][..., pick]
            if not np.isfinite(strip).all():
                nonfinite = True
                np.nan_to_num(strip, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            if convert is not None:
                strip = convert(strip, scene_linear)
            out[top - spec.full_y : bottom - spec.full_y, x0 - spec.full_x : x1 - spec.full_x] = strip
        return DecodedFrame(out, scene_linear, nonfinite)
    finally:
        inp.close()


def _strips(inp: oiio.ImageInput, spec: oiio.ImageSpec, lo: int, hi: int, path: str) -> Iterator[tuple[int, int, np.ndarray]]:
    """(y_begin, y_end, float32 [rows, data width, hi - lo]) over the data window, tile rows for tiled files."""
    tiled = spec.tile_width > 0
    step = spec.tile_height if tiled else STRIP_ROWS
    for y_begin in range(spec.y, spec.y + spec.height, step):
        y_end = min(y_begin + step, spec.y + spec.height)
        if tiled:
            rows = inp.read_tiles(0, 0, spec.x, spec.x + spec.width, y_begin, y_end, spec.z, spec.z + max(1, spec.depth), lo, hi, oiio.FLOAT)
        else:
            rows = inp.read_scanlines(0, 0, y_begin, y_end, spec.z, lo, hi, oiio.FLOAT)
        # libjpeg decodes a truncated file as grey and only reports it: such a report is damage, other notes are not
        message = _oiio_error(inp) if inp.has_error else ""
        if rows is None or not isinstance(rows, np.ndarray) or any(word in message.lower() for word in DAMAGE_WORDS):
            raise InputError(
                f"cannot read pixels of {path} (rows {y_begin}-{y_end - 1}): {message or 'unknown error'}; "
                "the file may be truncated or damaged"
            )
        yield y_begin, y_end, np.asarray(rows, np.float32).reshape(y_end - y_begin, spec.width, hi - lo)


def _held_if_noisy(path: str) -> AbstractContextManager:
    """libpng and libjpeg print to fd 2 themselves; other decoders report through OIIO only, so EXR/DPX/TIFF
    reads skip the (process-wide, serialised) stderr redirection."""
    return held_c_stderr() if os.path.splitext(path)[1].lower() in NOISY_EXTENSIONS else nullcontext()


def _open(path: str) -> oiio.ImageInput:
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"cannot read {path}: {_oiio_error(oiio)}; check that the file is complete")
    return inp


def _layers(channels) -> list[str]:
    return sorted({c.rsplit(".", 1)[0] for c in channels if "." in c})


def _rgb_channel_indices(path: str, names: list[str], layer: str | None) -> list[int]:
    """Indices of R, G, B (of `layer` when given); single-channel images are repeated to grey RGB."""
    if layer:
        prefix = layer + "."
        in_layer = {n[len(prefix):].lower(): i for i, n in enumerate(names) if n.startswith(prefix)}
        if not in_layer:
            layers = _layers(names)
            listing = ", ".join(layers) if layers else "none (only " + ",".join(names) + ")"
            raise InputError(f"{path} has no layer {layer!r}; layers there: {listing}")
        return _pick_rgb(path, in_layer, f"layer {layer}")
    plain = {n.lower(): i for i, n in enumerate(names) if "." not in n}
    if not plain:
        layers = _layers(names)
        raise InputError(f"{path} has no plain RGB channels; pick one with --layer ({', '.join(layers)})")
    return _pick_rgb(path, plain, "the image")


def _pick_rgb(path: str, channels: dict[str, int], what: str) -> list[int]:
    for triple in (("r", "g", "b"), ("red", "green", "blue")):
        if all(c in channels for c in triple):
            return [channels[c] for c in triple]
    for grey in ("y", "l", "luminance", "a", "r"):
        if grey in channels and len(channels) <= 2:
            return [channels[grey]] * 3
    if len(channels) in (1, 2):
        first = min(channels.values())
        return [first] * 3
    if len(channels) >= 3:
        ordered = sorted(channels.values())[:3]
        return ordered
    raise InputError(f"{path}: {what} has no RGB channels ({', '.join(channels)}); pick a layer with --layer")


def _is_scene_linear(path: str, spec) -> bool:
    """EXR and float/half data are scene-linear unless the file says otherwise; 8/10/16-bit files are display-referred."""
    colorspace = str(spec.getattribute("oiio:ColorSpace") or "").lower()
    if colorspace:
        if colorspace.startswith("lin") or "linear" in colorspace or colorspace in ("acescg", "aces2065-1"):
            return True
        if "srgb" in colorspace or "rec709" in colorspace or "log" in colorspace or "gamma" in colorspace:
            return False
    return path.lower().endswith(".exr") or str(spec.format) in ("half", "float")


def _oiio_error(obj) -> str:
    try:
        message = obj.geterror()
    except Exception:
        message = ""
    return (message or "unknown error").strip().splitlines()[0]
