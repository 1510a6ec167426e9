"""`omnivfx info`: what an artist checks before tracking a plate (frames, gaps, size, channels)."""

from __future__ import annotations

import os

import fileseq

from ..errors import InputError
from .image_reader import read_info
from .sequence import find_sequence


def describe_plate(path: str, frames: str | None = None) -> str:
    """A short multi-line report; gaps are reported here instead of failing, since that is what info is for."""
    try:
        sequence = find_sequence(path, frames)
        gaps = ""
    except InputError as exc:
        if "missing frames" not in str(exc):
            raise
        gaps = str(exc).split("missing frames ", 1)[1].split(";", 1)[0]
        sequence = _sequence_ignoring_gaps(path)
    numbers = sequence.frame_numbers
    lines = [
        f"plate:      {sequence.source}",
        f"frames:     {len(numbers)} ({fileseq.FrameSet(list(numbers))})",
        f"range:      {numbers[0]}-{numbers[-1]}",
        f"gaps:       {gaps or 'none'}",
    ]
    if sequence.is_video:
        import cv2

        cap = cv2.VideoCapture(path)
        lines.append(f"resolution: {int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}")
        lines.append(f"fps:        {cap.get(cv2.CAP_PROP_FPS):g}")
        cap.release()
        return "\n".join(lines)
    info = read_info(sequence.paths[0])
    lines += [
        f"resolution: {info.width}x{info.height}",
        f"channels:   {', '.join(info.channels)}",
        f"layers:     {', '.join(info.layers) or 'none'}",
        f"pixels:     {info.pixel_type} ({'scene-linear' if info.scene_linear else 'display-referred'})",
        f"first file: {os.path.basename(sequence.paths[0])}",
    ]
    return "\n".join(lines)


def _sequence_ignoring_gaps(path: str):
    from .sequence import FrameSequence

    pattern = path
    seq = find_sequence_files(pattern)
    numbers = list(seq.frameSet())
    return FrameSequence(path, tuple(numbers), tuple(seq.frame(f) for f in numbers))


def find_sequence_files(path: str) -> fileseq.FileSequence:
    import re

    if os.path.isdir(path):
        seqs = fileseq.findSequencesOnDisk(path, pad_style=fileseq.PAD_STYLE_HASH1)
        return seqs[0]
    printf = re.search(r"%0?(\d*)d", path)
    if printf:
        path = path[: printf.start()] + "@" * int(printf.group(1) or 1) + path[printf.end():]
    seq = fileseq.FileSequence(path, pad_style=fileseq.PAD_STYLE_HASH1)
    return fileseq.findSequenceOnDisk(seq.format("{dirname}{basename}") + "@" + seq.format("{extension}"), pad_style=fileseq.PAD_STYLE_HASH1)
