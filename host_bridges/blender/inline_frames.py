"""Read a clip's frames into one array, for a daemon that cannot open the clip's files (another machine).

Runs on Blender's main thread (bpy.data.images is not thread-safe) before the worker starts. 8-bit files go as
uint8 (display-referred), float files (EXR) as float16 (scene-linear), as the protocol asks.
"""

from __future__ import annotations

import numpy as np

import bpy

from .clip_source import ClipPlate


def read_frames(plate: ClipPlate) -> np.ndarray:
    """[T, H, W, 3] frames of the plate, row 0 at the top (Blender stores images bottom row first)."""
    if plate.is_movie:
        raise ValueError("a movie clip cannot be sent frame by frame; put it where the daemon can read it, or convert it to images")
    frames = []
    is_float = False
    for plate_frame in range(plate.plate_first, plate.plate_last + 1):
        image = bpy.data.images.load(plate.file(plate_frame), check_existing=False)
        try:
            width, height = image.size
            pixels = np.empty(width * height * image.channels, np.float32)
            image.pixels.foreach_get(pixels)
            is_float = is_float or image.is_float
            rgb = pixels.reshape(height, width, image.channels)[::-1, :, :3]
            if rgb.shape[2] < 3:
                rgb = np.repeat(rgb[:, :, :1], 3, axis=2)
            frames.append(rgb)
        finally:
            bpy.data.images.remove(image)
    stack = np.stack(frames)
    if is_float:
        return np.ascontiguousarray(stack.astype(np.float16))
    return np.ascontiguousarray(np.clip(np.rint(stack * 255.0), 0, 255).astype(np.uint8))
