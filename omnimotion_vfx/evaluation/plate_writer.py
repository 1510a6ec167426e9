"""Write a synthetic clip to disk as a numbered plate, the way a render or a scan arrives: 8-bit PNG, or
half-float scene-linear EXR, with 1001-based frame numbers (the usual VFX convention)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def display_to_linear(display: np.ndarray) -> np.ndarray:
    """sRGB-encoded [0, 1] -> scene-linear (IEC 61966-2-1 decoding), as a comp would linearise a graded frame."""
    d = np.clip(np.asarray(display, np.float64), 0.0, 1.0)
    return np.where(d <= 0.04045, d / 12.92, ((d + 0.055) / 1.055) ** 2.4).astype(np.float32)


def write_plate(video: np.ndarray, folder: str | Path, pattern: str = "plate.%04d.png", first_frame: int = 1001) -> list[Path]:
    """video uint8 [T, H, W, 3] RGB -> files folder/pattern % frame; '.exr' patterns get half-float linear
    RGB (ZIP compression). Returns the paths in frame order."""
    import OpenImageIO as oiio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    exr = pattern.lower().endswith(".exr")
    paths = []
    for i, frame in enumerate(np.asarray(video)):
        path = folder / (pattern % (first_frame + i))
        height, width = frame.shape[:2]
        if exr:
            spec = oiio.ImageSpec(width, height, 3, oiio.HALF)
            spec.attribute("compression", "zip")
            pixels = display_to_linear(frame / 255.0)
        else:
            spec = oiio.ImageSpec(width, height, 3, oiio.UINT8)
            pixels = np.ascontiguousarray(frame, np.uint8)
        out = oiio.ImageOutput.create(str(path))
        if out is None or not out.open(str(path), spec) or not out.write_image(pixels):
            raise OSError(f"cannot write {path}: {oiio.geterror()}")
        out.close()
        paths.append(path)
    return paths
