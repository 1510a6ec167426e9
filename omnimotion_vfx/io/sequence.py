"""Find the frames of a plate: frame patterns (Nuke/oiiotool style), folders and video files.

Padding tokens: `%04d` (4 digits), `####` (one digit per `#`, Nuke), `@@@@` (one digit per `@`), a lone `#`
(4 digits, oiiotool), `%d` / `@` (unpadded). A frame range may sit in front of the token
(`plate.1001-1100#.exr`, fileseq syntax). A file matches when its number, written with the pattern's padding,
is exactly the file's digits (so `@` matches 1001 but not 0001). Frame numbers are the files' own (a plate may
start at 1001); a gap is an error that lists the missing frames.
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
_TOKEN = re.compile(r"(%0?(\d*)d|#+|@+)")
_RANGE_PART = r"-?\d+(?:--?\d+)?(?:[xy:]\d+)?"
_RANGE_BEFORE_TOKEN = re.compile(rf"(?<=[._])({_RANGE_PART}(?:,{_RANGE_PART})*)$")


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


@dataclass(frozen=True)
class FrameScan:
    """What is on disk for a plate, before deciding whether gaps are fatal (`omnivfx info` reports them)."""

    source: str
    present: dict[int, str]  # frame number -> path, for the frames found
    wanted: tuple[int, ...]  # frames the plate should have: --frames, the pattern's range, or first..last
    is_video: bool = False

    @property
    def missing(self) -> list[int]:
        return [f for f in self.wanted if f not in self.present]

    def sequence(self) -> FrameSequence:
        """The plate with every wanted frame, or an InputError listing the missing ones."""
        missing = self.missing
        if missing and self.present and not set(self.wanted) & self.present.keys():
            have = f"{min(self.present)}-{max(self.present)}"
            raise InputError(f"--frames {frames_text(list(self.wanted))} is outside the plate ({have}); "
                             f"pass --frames {have} or a part of it")
        if missing:
            raise InputError(
                f"plate {self.source} is missing frames {frames_text(missing)}; render them or pass --frames "
                f"to skip the gap (e.g. --frames {_longest_run_text(self.wanted, self.present)})"
            )
        numbers = tuple(self.wanted)
        return FrameSequence(self.source, numbers, tuple(self.present[f] for f in numbers), self.is_video)


def parse_frame_range(text: str) -> list[int]:
    """'1001-1100', '1001-1100x2', '1001,1005,1010-1020' -> frame numbers (fileseq's FrameSet syntax)."""
    try:
        frames = sorted(set(fileseq.FrameSet(text.strip())))
    except Exception:
        frames = []
    if not frames:
        raise InputError(f"--frames {text!r} is not a frame range; write it like 1001-1100 or 1,3,5-9")
    return frames


def find_sequence(path: str, frames: str | None = None) -> FrameSequence:
    """Resolve PLATE (pattern, folder or video) to the frames on disk, restricted to `frames` if given."""
    return scan_frames(path, frames).sequence()


def scan_frames(path: str, frames: str | None = None) -> FrameScan:
    """Find what exists for PLATE without failing on gaps."""
    wanted = parse_frame_range(frames) if frames else None
    if os.path.isfile(path) and Path(path).suffix.lower() in VIDEO_EXTENSIONS:
        return _video_scan(path, wanted)
    if os.path.isdir(path):
        return _pattern_scan(_folder_pattern(path), wanted)
    return _pattern_scan(path, wanted)


def frames_text(frames: list[int]) -> str:
    """Compact frame list for messages: 1001-1003,1007."""
    return str(fileseq.FrameSet(sorted(frames)))


def _video_scan(path: str, wanted: list[int] | None) -> FrameScan:
    import cv2

    cap = cv2.VideoCapture(path)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    cap.release()
    if count <= 0:
        raise InputError(f"cannot read video {path}: no frames decoded; check the file or convert it to an image sequence")
    present = {f: path for f in range(1, count + 1)}
    if wanted is not None:
        outside = [f for f in wanted if f not in present]
        if outside:
            raise InputError(f"--frames asks for frames {frames_text(outside)} but {path} has frames 1-{count}")
    return FrameScan(path, present, tuple(wanted or present), is_video=True)


def _folder_pattern(folder: str) -> str:
    """The one image sequence in `folder`, as a pattern with explicit padding."""
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
    seq = seqs[0]
    return os.path.join(folder, f"{seq.basename()}%0{seq.zfill()}d{seq.extension()}")


def _pattern_scan(pattern: str, wanted: list[int] | None) -> FrameScan:
    folder, filename = os.path.split(pattern)
    tokens = list(_TOKEN.finditer(filename))
    if not tokens:
        if os.path.isfile(pattern):
            return _single_file_scan(pattern, filename, wanted)
        raise InputError(f"{pattern} matches no file and has no frame-number pattern; use plate.%04d.exr or plate.####.exr")
    token = tokens[-1]
    width = _token_width(token)
    head, tail = filename[: token.start()], filename[token.end():]
    explicit = _RANGE_BEFORE_TOKEN.search(head)
    if explicit:
        head = head[: explicit.start()]
        if wanted is None:
            wanted = parse_frame_range(explicit.group(1))
    matcher = re.compile(re.escape(head) + r"(-?\d+)" + re.escape(tail) + "$")
    try:
        names = os.listdir(folder or ".")
    except OSError:
        raise InputError(f"no files match {pattern}: folder {folder or '.'} does not exist") from None
    present: dict[int, str] = {}
    other_widths: set[int] = set()
    for name in names:
        found = matcher.match(name)
        if not found:
            continue
        digits = found.group(1)
        number = int(digits)
        if _pad(number, width) == digits:
            present[number] = os.path.join(folder, name)
        else:
            other_widths.add(len(digits.lstrip("-")))
    if not present:
        hint = (
            f"; files there have {'/'.join(str(w) for w in sorted(other_widths))}-digit frame numbers, e.g. "
            f"{head}{'#' * min(other_widths)}{tail}"
            if other_widths
            else "; check the path and the number of # or %0Nd digits"
        )
        raise InputError(f"no files match {pattern}{hint}")
    numbers = sorted(present)
    return FrameScan(pattern, present, tuple(wanted if wanted is not None else range(numbers[0], numbers[-1] + 1)))


def _single_file_scan(path: str, filename: str, wanted: list[int] | None) -> FrameScan:
    """One image named without a pattern: a one-frame plate labelled by the number in its name, if any."""
    number = re.search(r"(-?\d+)(?=\.[^.]+$)", filename)
    frame = int(number.group(1)) if number else 1
    return FrameScan(path, {frame: path}, tuple(wanted if wanted is not None else [frame]))


def _token_width(token: re.Match) -> int:
    text = token.group(1)
    if text.startswith("%"):
        return int(token.group(2) or 1)
    if text == "#":
        return 4
    return len(text)


def _pad(number: int, width: int) -> str:
    return ("-" if number < 0 else "") + str(abs(number)).zfill(width)


def _longest_run_text(wanted: tuple[int, ...], present: dict[int, str]) -> str:
    best: list[int] = []
    run: list[int] = []
    for frame in wanted:
        run = run + [frame] if frame in present else []
        if len(run) > len(best):
            best = run
    return f"{best[0]}-{best[-1]}" if best else "FIRST-LAST"
