"""Find the frames of a plate: frame patterns (Nuke/oiiotool style), folders and video files, through fileseq.

Frame numbers are the files' own (a plate may start at 1001); gaps are errors that list the missing frames.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import fileseq

from ..errors import InputError

IMAGE_EXTENSIONS = {".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dpx"}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".avi", ".mkv"}


@dataclass(frozen=True)
class FrameSequence:
    """The files of a plate in frame order, or one video file whose frames are numbered from 1."""

    source: str
    frame_numbers: tuple[int, ...]
    paths: tuple[str, ...]
    is_video: bool = False

    @property
    def name(self) -> str:
        """A short name for the results folder (the file name without frame number and extension)."""
        base = os.path.basename(self.source.rstrip("/"))
        base = re.sub(r"(\.mp4|\.mov|\.m4v|\.avi|\.mkv)$", "", base, flags=re.I)
        base = re.sub(r"[.#@%_-]*(\d+-\d+)?(%0?\d*d|#+|@+)?(\.[A-Za-z]+)?$", "", base)
        return base or "plate"


def parse_frame_range(text: str) -> list[int]:
    """'1001-1100', '1001-1100x2', '1001,1005,1010-1020' -> frame numbers (fileseq's FrameSet syntax)."""
    try:
        return list(fileseq.FrameSet(text))
    except Exception:
        raise InputError(f"--frames {text!r} is not a frame range; write it like 1001-1100 or 1,3,5-9") from None


def find_sequence(path: str, frames: str | None = None) -> FrameSequence:
    """Resolve PLATE (pattern, folder or video) to the frames on disk, restricted to `frames` if given."""
    wanted = parse_frame_range(frames) if frames else None
    if os.path.isfile(path) and Path(path).suffix.lower() in VIDEO_EXTENSIONS:
        return _video_sequence(path, wanted)
    if os.path.isdir(path):
        return _folder_sequence(path, wanted)
    return _pattern_sequence(path, wanted)


def _video_sequence(path: str, wanted: list[int] | None) -> FrameSequence:
    import cv2

    cap = cv2.VideoCapture(path)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    cap.release()
    if count <= 0:
        raise InputError(f"cannot read video {path}: no frames decoded; check the file or convert it to an image sequence")
    numbers = list(range(1, count + 1))
    if wanted is not None:
        missing = sorted(set(wanted) - set(numbers))
        if missing:
            raise InputError(f"--frames asks for frames {_frames_text(missing)} but {path} has frames 1-{count}")
        numbers = wanted
    return FrameSequence(path, tuple(numbers), tuple(path for _ in numbers), is_video=True)


def _folder_sequence(folder: str, wanted: list[int] | None) -> FrameSequence:
    seqs = [
        s
        for s in fileseq.findSequencesOnDisk(folder, pad_style=fileseq.PAD_STYLE_HASH1)
        if s.extension().lower() in IMAGE_EXTENSIONS and s.frameSet() is not None
    ]
    if not seqs:
        raise InputError(f"no numbered image frames (exr, dpx, tif, png, jpg) in folder {folder}; give a pattern like plate.%04d.exr")
    if len(seqs) > 1:
        names = ", ".join(str(s.format("{basename}{padding}{extension}")) for s in seqs[:5])
        raise InputError(f"folder {folder} holds several sequences ({names}); name one as PLATE")
    return _from_fileseq(seqs[0], folder, wanted)


def _pattern_sequence(pattern: str, wanted: list[int] | None) -> FrameSequence:
    printf = re.search(r"%0?(\d*)d", pattern)
    normalised = pattern
    if printf:
        pad = int(printf.group(1) or 1)
        normalised = pattern[: printf.start()] + "@" * pad + pattern[printf.end():]
    try:
        seq = fileseq.FileSequence(normalised, pad_style=fileseq.PAD_STYLE_HASH1)
    except Exception:
        raise InputError(f"{pattern} is not a frame pattern; use plate.%04d.exr, plate.####.exr or plate.1001-1100#.exr") from None
    if not seq.padding():
        if os.path.isfile(pattern):
            raise InputError(f"{pattern} is a single image; give the sequence pattern (plate.%04d.exr) or the folder")
        raise InputError(f"{pattern} matches no file and has no frame-number pattern; use plate.%04d.exr or plate.####.exr")
    explicit = seq.frameSet()
    try:
        on_disk = fileseq.findSequenceOnDisk(
            seq.format("{dirname}{basename}") + "@" + seq.format("{extension}"),
            pad_style=fileseq.PAD_STYLE_HASH1,
            allow_subframes=False,
        )
    except fileseq.FileSeqException:
        on_disk = None
    if on_disk is not None and on_disk.zfill() != seq.zfill():
        on_disk = None
    if on_disk is None or on_disk.frameSet() is None:
        raise InputError(f"no files match {pattern}; check the path and the number of # or %0Nd digits")
    if explicit is not None and wanted is None:
        wanted = list(explicit)
    return _from_fileseq(on_disk, os.path.dirname(pattern) or ".", wanted, source=pattern)


def _from_fileseq(seq: fileseq.FileSequence, where: str, wanted: list[int] | None, source: str | None = None) -> FrameSequence:
    present = list(seq.frameSet())
    present_set = set(present)
    if wanted is None:
        numbers = list(range(present[0], present[-1] + 1))
    else:
        numbers = sorted(set(wanted))
    missing = [f for f in numbers if f not in present_set]
    label = source or seq.format("{dirname}{basename}{padding}{extension}")
    if missing:
        raise InputError(
            f"plate {label} is missing frames {_frames_text(missing)}; render them or pass --frames to skip the gap"
        )
    paths = tuple(seq.frame(f) for f in numbers)
    return FrameSequence(label, tuple(numbers), paths)


def _frames_text(frames: list[int]) -> str:
    return str(fileseq.FrameSet(frames))
