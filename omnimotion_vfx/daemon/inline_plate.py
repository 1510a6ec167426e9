"""Frames sent inline by a host (uint8 or float16 arrays) become an image sequence in the job folder.

Writing them to disk first means an inline job runs, caches and resumes exactly like a plate on shared
storage: the engine only ever reads plates from files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError


def check_inline_frames(frames: np.ndarray) -> None:
    """Refuse what cannot become a plate, before the job is accepted."""
    if frames.ndim != 4 or frames.shape[-1] not in (3, 4) or min(frames.shape[:3]) < 1:
        raise InputError(f"inline frames must be [T, H, W, 3 or 4], got shape {list(frames.shape)}")
    if frames.dtype not in (np.uint8, np.float16):
        raise InputError(f"inline frames must be uint8 (display-referred) or float16 (scene-linear), got {frames.dtype}")
    if frames.shape[0] < 2:
        raise InputError("send at least 2 inline frames to track")


def write_inline_plate(frames: np.ndarray, first_frame: int, folder: Path) -> str:
    """Write PNG (uint8) or half EXR (float16) frames numbered from `first_frame`; returns the plate pattern."""
    import OpenImageIO as oiio

    folder.mkdir(parents=True, exist_ok=True)
    extension, pixel_type = ("png", "uint8") if frames.dtype == np.uint8 else ("exr", "half")
    digits = max(4, len(str(first_frame + len(frames) - 1)))
    pattern = folder / f"plate.%0{digits}d.{extension}"
    height, width, channels = frames.shape[1:]
    for offset, frame in enumerate(frames):
        path = str(pattern) % (first_frame + offset)
        output = oiio.ImageOutput.create(path)
        if output is None or not output.open(path, oiio.ImageSpec(width, height, channels, pixel_type)):
            raise InputError(f"cannot write inline frame {path}: {oiio.geterror()}")
        ok = output.write_image(np.ascontiguousarray(frame))
        output.close()
        if not ok:
            raise InputError(f"cannot write inline frame {path}: {output.geterror()}")
    return str(pattern)
