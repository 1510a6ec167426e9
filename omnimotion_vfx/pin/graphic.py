"""The graphic to pin (one image or a frame sequence) and the placement mask, read with OpenImageIO.

Everything is composited in scene-linear light with premultiplied alpha, as Nuke does: 8/16-bit images
(PNG, JPEG, TIFF) are taken as sRGB-encoded with straight alpha, so they are read unassociated, decoded to
linear and then premultiplied; float images (EXR) are taken as linear and already premultiplied.
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..errors import InputError
from ..io.sequence import find_sequence

_PATTERN = re.compile(r"%0?\d*d|#+|@+")


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB to linear (the inverse of io.colour.srgb_encode)."""
    x = np.clip(encoded, 0.0, None)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def read_rgba(path: str) -> np.ndarray:
    """Premultiplied linear RGBA float32 [H, W, 4] (alpha 1 when the file has none)."""
    import OpenImageIO as oiio

    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    inp = oiio.ImageInput.open(path, config)
    if inp is None:
        raise InputError(f"cannot read graphic {path}: {(oiio.geterror() or 'unknown error').splitlines()[0]}; give a PNG, TIFF or EXR")
    try:
        spec = inp.spec()
        data = inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT)
        names = [n.lower() for n in spec.channelnames]
        float_data = str(spec.format) in ("half", "float", "double") or path.lower().endswith(".exr")
    finally:
        inp.close()
    if data is None:
        raise InputError(f"cannot read the pixels of graphic {path}; the file may be truncated")
    data = np.asarray(data, np.float32).reshape(spec.height, spec.width, spec.nchannels)
    rgb_idx = [names.index(c) for c in ("r", "g", "b")] if all(c in names for c in ("r", "g", "b")) else [0, min(1, spec.nchannels - 1), min(2, spec.nchannels - 1)]
    if spec.nchannels in (1, 2) and "r" not in names:
        rgb_idx = [0, 0, 0]
    alpha_idx = names.index("a") if "a" in names else (spec.alpha_channel if spec.alpha_channel >= 0 else None)
    rgb = data[..., rgb_idx]
    alpha = data[..., alpha_idx] if alpha_idx is not None else np.ones(rgb.shape[:2], np.float32)
    if float_data:
        return np.concatenate([rgb, alpha[..., None]], axis=-1).astype(np.float32)
    linear = srgb_decode(rgb) * alpha[..., None]
    return np.concatenate([linear, alpha[..., None]], axis=-1).astype(np.float32)


def read_mask(path: str) -> np.ndarray:
    """A region mask as float32 [H, W] in [0, 1]: its alpha if it has one, otherwise its first channel."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"cannot read mask {path}: {(oiio.geterror() or 'unknown error').splitlines()[0]}; give a PNG or EXR")
    try:
        spec = inp.spec()
        data = np.asarray(inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT), np.float32).reshape(spec.height, spec.width, spec.nchannels)
    finally:
        inp.close()
    channel = spec.alpha_channel if spec.alpha_channel >= 0 and spec.nchannels in (2, 4) else 0
    return np.clip(data[..., channel], 0.0, 1.0)


class GraphicSource:
    """One still graphic, or a sequence whose frame N is pinned at plate frame N (held outside its range)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._cache: tuple[int, np.ndarray] | None = None
        if _PATTERN.search(os.path.basename(path)):
            sequence = find_sequence(path)
            self.frames: dict[int, str] = dict(zip(sequence.frame_numbers, sequence.paths))
        else:
            if not os.path.isfile(path):
                raise InputError(f"graphic {path} does not exist; give an image or a frame pattern like art.%04d.exr")
            self.frames = {}
        first = self.frame(min(self.frames) if self.frames else 0)
        self.size: tuple[int, int] = (first.shape[1], first.shape[0])

    def frame(self, plate_frame: int) -> np.ndarray:
        """Premultiplied linear RGBA for `plate_frame`, cached while the same file is asked for."""
        if self.frames:
            numbers = sorted(self.frames)
            key = min(max(plate_frame, numbers[0]), numbers[-1])
            key = key if key in self.frames else max(n for n in numbers if n <= key)
            path = self.frames[key]
        else:
            key, path = 0, self.path
        if self._cache is None or self._cache[0] != key:
            pixels = read_rgba(path)
            if self._cache is not None and pixels.shape != self._cache[1].shape:
                raise InputError(f"graphic frame {path} is {pixels.shape[1]}x{pixels.shape[0]}, not {self.size[0]}x{self.size[1]}; conform the sequence")
            self._cache = (key, pixels)
        return self._cache[1]
