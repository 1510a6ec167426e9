"""The plate's own frame rate, so previews (the QC movie) play at the speed the shot was filmed at.

Where it is read: a video container's average rate (PyAV); an EXR's `framesPerSecond` attribute (a rational,
OpenImageIO's `FramesPerSecond`); a DPX header's frame rate (`dpx:FrameRate`, film header, or
`dpx:TemporalFrameRate`, television header). Only the first frame's header is read. Rates stay rational
(24000/1001, not 23.976) because a movie's time base needs them exact; a decimal NTSC rate (23.976, 23.98, 29.97,
47.952, 59.94, 119.88), typed or stored as a float in a DPX header, means the exact N*1000/1001 it rounds.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .sequence import FrameSequence

HEADER_RATES = ("FramesPerSecond", "dpx:FrameRate", "dpx:TemporalFrameRate")
MAX_FPS = 1000
NTSC_RATES = tuple(Fraction(n * 1000, 1001) for n in (24, 30, 48, 60, 120))
# 23.98 is 0.004 away from 24000/1001; whole rates (24, 30, ...) are at least 0.024 away, so they stay whole.
NTSC_TOLERANCE = Fraction(1, 200)


def plate_frame_rate(sequence: FrameSequence) -> Fraction | None:
    """Frames per second the plate declares, or None when it declares none (PNG, JPEG, most TIFFs)."""
    if not sequence.paths:
        return None
    if sequence.is_video:
        return _video_rate(sequence.paths[0])
    return _header_rate(sequence.paths[0])


def parse_frame_rate(text: str | float | Fraction) -> Fraction:
    """`25`, `23.976` or `24000/1001` -> a rational rate (`23.976` is 24000/1001 too); ValueError outside (0, 1000] fps.
    A ratio or a Fraction is taken as written: `2997/125` stays 23.976 exactly."""
    if isinstance(text, Fraction):
        rate = text
    else:
        rate = Fraction(str(text).strip())
        rate = rate if "/" in str(text) else _ntsc(rate)
    if not 0 < rate <= MAX_FPS:
        raise ValueError(f"a frame rate is in (0, {MAX_FPS}] fps, not {text}")
    return rate.limit_denominator(1001) if rate.denominator > 1001 else rate


def _ntsc(rate: Fraction) -> Fraction:
    """A decimal NTSC rate (23.976, 29.97, 59.94, ...) -> its exact N*1000/1001; any other rate unchanged."""
    return next((exact for exact in NTSC_RATES if abs(rate - exact) <= NTSC_TOLERANCE), rate)


def _video_rate(path: str) -> Fraction | None:
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            return _valid(stream.average_rate or stream.guessed_rate)
    except (av.FFmpegError, OSError):  # an unreadable movie is the plate reader's error to report, not ours
        return None


def _header_rate(path: str) -> Fraction | None:
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(path)
    if inp is None:
        oiio.geterror()  # clear it; the plate reader reports unreadable frames
        return None
    try:
        spec = inp.spec()
        for name in HEADER_RATES:
            rate = _valid(spec.getattribute(name))
            if rate is not None:
                return rate
        return None
    finally:
        inp.close()


def _valid(value: object) -> Fraction | None:
    """A positive finite rate as a Fraction; None for missing, zero or undefined (DPX stores NaN/0 when unset)."""
    try:
        if isinstance(value, tuple) and len(value) == 2:
            rate = Fraction(int(value[0]), int(value[1])) if value[1] else None
        elif isinstance(value, Fraction):
            rate = value
        elif isinstance(value, (int, float)) and math.isfinite(value):
            rate = _ntsc(Fraction(value).limit_denominator(1001))
        else:
            rate = None
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return rate if rate is not None and 0 < rate <= MAX_FPS else None
