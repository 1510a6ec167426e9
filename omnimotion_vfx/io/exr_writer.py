"""Write multi-channel EXR frames through OpenImageIO: float32 or half, compressed, named channels.

Every dense product (motion vectors, STMaps, mattes) goes through here so that channel naming, compression
and the atomic rename are decided once. A frame is written to a temporary file in the same folder and renamed,
so a render farm or an artist never reads half a frame after a kill.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..file_modes import publish

COMPRESSIONS = ("zip", "zips", "piz", "rle", "b44", "none")


def write_exr(
    path: str | os.PathLike,
    pixels: np.ndarray,
    channel_names: Sequence[str],
    *,
    half: bool | Sequence[bool] = False,
    compression: str = "zip",
    attributes: Mapping[str, str | int | float] | None = None,
) -> Path:
    """Write `pixels` [H, W, C] (or [H, W] for one channel) with `channel_names` to an EXR file.

    `half` is one flag for all channels or one per channel (an STMap keeps u/v in float32 and may store
    its visibility in half). `attributes` become EXR header metadata (e.g. the plate frame number).
    """
    import OpenImageIO as oiio

    pixels = np.asarray(pixels, np.float32)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    height, width, count = pixels.shape
    if len(channel_names) != count:
        raise ValueError(f"{count} channels but {len(channel_names)} names: {list(channel_names)}")
    if compression not in COMPRESSIONS:
        raise InputError(f"unknown EXR compression {compression!r}; choose one of {', '.join(COMPRESSIONS)}")
    halves = [bool(half)] * count if isinstance(half, bool) else [bool(h) for h in half]
    spec = oiio.ImageSpec(width, height, count, oiio.HALF if all(halves) else oiio.FLOAT)
    if any(halves) and not all(halves):
        spec.channelformats = [oiio.TypeDesc(oiio.HALF if h else oiio.FLOAT) for h in halves]
    spec.channelnames = tuple(channel_names)
    spec.attribute("compression", compression)
    for key, value in (attributes or {}).items():
        spec.attribute(key, value)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.exr", dir=path.parent)
    os.close(fd)
    try:
        out = oiio.ImageOutput.create(tmp)
        if out is None or not out.open(tmp, spec):
            raise OSError(f"cannot open {path} for writing: {oiio.geterror()}")
        ok = out.write_image(np.ascontiguousarray(pixels))
        out.close()
        if not ok:
            raise OSError(f"cannot write {path}: {oiio.geterror()}")
        publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
