"""A plate: frames found on disk, read one at a time at the processing size, in a perceptual encoding.

Frames are streamed (read, converted, resized, then dropped), so a long 4K plate processed at proxy size
never sits in memory as float32. `load_uint8()` returns the whole clip at the processing size, which is what
the flow stage works on (8-bit, a few hundred MB at most for 100 frames of 854x480).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..errors import InputError
from ..progress import NullProgress, ProgressReporter
from .colour import ColourConverter, make_converter
from .image_reader import ImageInfo, check_layer, read_image, read_info
from .sequence import FrameSequence, find_sequence, frames_text


@dataclass
class Plate:
    """Frames of a shot with their file frame numbers; coordinates reported at full resolution."""

    sequence: FrameSequence
    full_size: tuple[int, int]  # (width, height) of the display window
    size: tuple[int, int]  # processing (width, height) after --proxy
    layer: str | None = None
    converter: ColourConverter = field(default_factory=ColourConverter)
    info: ImageInfo | None = None
    nan_frames: list[int] = field(default_factory=list)

    @property
    def frame_numbers(self) -> list[int]:
        return list(self.sequence.frame_numbers)

    @property
    def scale_xy(self) -> tuple[float, float]:
        """Processing pixels per full-resolution pixel, per axis (the --proxy factor after rounding to pixels)."""
        return self.size[0] / self.full_size[0], self.size[1] / self.full_size[1]

    def __len__(self) -> int:
        return len(self.sequence.frame_numbers)

    def read(self, index: int) -> np.ndarray:
        """Frame `index` (0-based) as float32 [H, W, 3] in [0, 1], perceptual encoding, processing size."""
        if self.sequence.is_video:
            return self._resize(self._video_frame(index))
        return self._resize(self._image_frame(index))

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.sequence.is_video:
            yield from (self._resize(f) for f in self._video_frames())
        else:
            for i in range(len(self)):
                yield self.read(i)

    def load_uint8(self, progress: ProgressReporter | None = None) -> np.ndarray:
        """The whole clip as uint8 [T, H, W, 3] (RGB) at the processing size, read frame by frame."""
        progress = progress or NullProgress()
        w, h = self.size
        out = np.empty((len(self), h, w, 3), np.uint8)
        progress.begin("read", len(self))
        for i, frame in enumerate(self):
            np.multiply(frame, 255.0, out=frame)
            np.rint(frame, out=frame)
            out[i] = frame  # in place above, cast here: no second float frame
            progress.update(i + 1)
        progress.end()
        if self.nan_frames:
            progress.warn(f"NaN/Inf pixels replaced by 0 in frames {frames_text(self.nan_frames)} of {self.sequence.source}")
        return out

    def _image_frame(self, index: int) -> np.ndarray:
        path = self.sequence.paths[index]
        frame = read_image(path, self.layer, self.converter)
        height, width = frame.pixels.shape[:2]
        if (width, height) != self.full_size:
            raise InputError(
                f"frame {self.sequence.frame_numbers[index]} ({path}) is {width}x{height} "
                f"but the plate is {self.full_size[0]}x{self.full_size[1]}; conform the plate to one size"
            )
        if frame.had_nonfinite and self.sequence.frame_numbers[index] not in self.nan_frames:
            self.nan_frames.append(self.sequence.frame_numbers[index])
        return frame.pixels

    def _video_frame(self, index: int) -> np.ndarray:
        import cv2

        cap = cv2.VideoCapture(self.sequence.source)
        cap.set(cv2.CAP_PROP_POS_FRAMES, self.sequence.frame_numbers[index] - 1)
        ok, bgr = cap.read()
        cap.release()
        if not ok:
            raise InputError(f"cannot decode frame {self.sequence.frame_numbers[index]} of {self.sequence.source}; the video may be truncated")
        return _rgb_float(bgr)

    def _video_frames(self) -> Iterator[np.ndarray]:
        import cv2

        cap = cv2.VideoCapture(self.sequence.source)
        wanted = self.sequence.frame_numbers
        cap.set(cv2.CAP_PROP_POS_FRAMES, wanted[0] - 1)
        number = wanted[0]
        wanted_set = set(wanted)
        try:
            while number <= wanted[-1]:
                ok, bgr = cap.read()
                if not ok:
                    raise InputError(f"cannot decode frame {number} of {self.sequence.source}; the video may be truncated")
                if number in wanted_set:
                    yield _rgb_float(bgr)
                number += 1
        finally:
            cap.release()

    def _resize(self, pixels: np.ndarray) -> np.ndarray:
        if (pixels.shape[1], pixels.shape[0]) == self.size:
            return np.ascontiguousarray(pixels, dtype=np.float32)
        import cv2

        return cv2.resize(pixels, self.size, interpolation=cv2.INTER_AREA).astype(np.float32)


def open_plate(
    path: str,
    frames: str | None = None,
    layer: str | None = None,
    colorspace: str | None = None,
    proxy: float = 1.0,
) -> Plate:
    """Find the plate's frames and check what can be checked from the headers, before any pixel is read."""
    if not (0.0 < proxy <= 1.0):
        raise InputError(f"--proxy {proxy:g} must be in (0, 1], e.g. 0.5 for half resolution")
    sequence = find_sequence(path, frames)
    if len(sequence.frame_numbers) < 2:
        raise InputError(
            f"plate {sequence.source} has only one frame ({sequence.frame_numbers[0]}); tracking needs at least two "
            "(give a pattern like plate.%04d.exr or a wider --frames)"
        )
    converter = make_converter(colorspace)
    if sequence.is_video:
        if layer:
            raise InputError(f"--layer {layer} applies to EXR plates; {path} is a video with RGB only")
        full = _video_size(path)
        info = ImageInfo(full[0], full[1], ("R", "G", "B"), "uint8", False)
    else:
        info = read_info(sequence.paths[0])
        full = (info.width, info.height)
        check_layer(sequence.paths[0], info.channels, layer)
        _check_sizes(sequence, full)
    size = (max(8, int(math.floor(full[0] * proxy + 0.5))), max(8, int(math.floor(full[1] * proxy + 0.5))))
    return Plate(sequence, full, size, layer, converter, info)


def _video_size(path: str) -> tuple[int, int]:
    import cv2

    cap = cv2.VideoCapture(path)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    cap.release()
    return size


def _check_sizes(sequence: FrameSequence, full: tuple[int, int]) -> None:
    """All frames must share the first frame's display size (headers only); named precisely when they don't."""
    for number, path in zip(sequence.frame_numbers[1:], sequence.paths[1:]):
        info = read_info(path)
        if (info.width, info.height) != full:
            raise InputError(
                f"frame {number} ({path}) is {info.width}x{info.height} but frame {sequence.frame_numbers[0]} is "
                f"{full[0]}x{full[1]}; conform the plate to one size"
            )


def _rgb_float(bgr: np.ndarray) -> np.ndarray:
    """OpenCV's 8-bit BGR to float32 RGB in [0, 1], with one float buffer."""
    rgb = bgr[..., ::-1].astype(np.float32)
    rgb *= 1.0 / 255.0
    return rgb
