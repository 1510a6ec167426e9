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
from .image_reader import ImageInfo, read_image, read_info
from .sequence import FrameSequence, find_sequence


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
    def scale(self) -> float:
        """Processing pixels per full-resolution pixel (the --proxy factor, exact per axis below)."""
        return self.size[0] / self.full_size[0]

    @property
    def scale_xy(self) -> tuple[float, float]:
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
            out[i] = np.round(frame * 255.0).astype(np.uint8)
            progress.update(i + 1)
        progress.end()
        if self.nan_frames:
            progress.warn(f"NaN/Inf pixels replaced by 0 in frames {_frames_text(self.nan_frames)}")
        return out

    def _image_frame(self, index: int) -> np.ndarray:
        path = self.sequence.paths[index]
        pixels, scene_linear = read_image(path, self.layer)
        if pixels.shape[1] != self.full_size[0] or pixels.shape[0] != self.full_size[1]:
            raise InputError(
                f"frame {self.sequence.frame_numbers[index]} ({path}) is {pixels.shape[1]}x{pixels.shape[0]} "
                f"but the plate is {self.full_size[0]}x{self.full_size[1]}; conform the plate to one size"
            )
        if not np.isfinite(pixels).all():
            frame = self.sequence.frame_numbers[index]
            if frame not in self.nan_frames:
                self.nan_frames.append(frame)
            pixels = np.nan_to_num(pixels, nan=0.0, posinf=0.0, neginf=0.0)
        return self.converter(pixels, scene_linear)

    def _video_frame(self, index: int) -> np.ndarray:
        import cv2

        cap = cv2.VideoCapture(self.sequence.source)
        cap.set(cv2.CAP_PROP_POS_FRAMES, self.sequence.frame_numbers[index] - 1)
        ok, bgr = cap.read()
        cap.release()
        if not ok:
            raise InputError(f"cannot decode frame {self.sequence.frame_numbers[index]} of {self.sequence.source}; the video may be truncated")
        return bgr[..., ::-1].astype(np.float32) / 255.0

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
                    yield bgr[..., ::-1].astype(np.float32) / 255.0
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
    """Find the plate's frames and check what can be checked without reading every pixel."""
    if not (0.0 < proxy <= 1.0):
        raise InputError(f"--proxy {proxy} must be in (0, 1], e.g. 0.5 for half resolution")
    sequence = find_sequence(path, frames)
    if len(sequence.frame_numbers) < 2:
        raise InputError(f"plate {sequence.source} has only one frame ({sequence.frame_numbers[0]}); tracking needs at least two")
    converter = make_converter(colorspace)
    if sequence.is_video:
        import cv2

        cap = cv2.VideoCapture(path)
        full = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        cap.release()
        info = ImageInfo(full[0], full[1], ("R", "G", "B"), "uint8", False)
    else:
        info = read_info(sequence.paths[0])
        full = (info.width, info.height)
        if layer is not None or not any("." not in c for c in info.channels):
            from .image_reader import _rgb_channel_indices

            _rgb_channel_indices(sequence.paths[0], list(info.channels), layer)
        _check_sizes(sequence)
    size = (max(8, int(math.floor(full[0] * proxy + 0.5))), max(8, int(math.floor(full[1] * proxy + 0.5))))
    return Plate(sequence, full, size, layer, converter, info)


def _check_sizes(sequence: FrameSequence) -> None:
    """All frames must share the first frame's display size; named precisely when they don't."""
    first = read_info(sequence.paths[0])
    for number, path in zip(sequence.frame_numbers[1:], sequence.paths[1:]):
        info = read_info(path)
        if (info.width, info.height) != (first.width, first.height):
            raise InputError(
                f"frame {number} ({path}) is {info.width}x{info.height} but frame {sequence.frame_numbers[0]} is "
                f"{first.width}x{first.height}; conform the plate to one size"
            )


def _frames_text(frames: list[int]) -> str:
    import fileseq

    return str(fileseq.FrameSet(sorted(frames)))
