"""What a Read node reads, in the daemon's terms: a `%0Nd` frame pattern, the file frame range, the offset.

Nuke writes frame numbers as `####` (one `#` per digit) or `%04d`; the daemon takes `%0Nd`. A Read node's
`frame_mode`/`frame` knobs shift its output: script frame = file frame + offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%(0?\d*)d")


@dataclass(frozen=True)
class ReadPlate:
    pattern: str  # absolute `%0Nd` pattern, what the daemon opens
    first: int  # first file frame number
    last: int
    offset: int  # script frame = file frame + offset
    width: int
    height: int

    @property
    def frame_range(self) -> str:
        return f"{self.first}-{self.last}"

    def script_frame(self, plate_frame: int) -> int:
        return int(plate_frame) + self.offset

    def plate_frame(self, script_frame: int) -> int:
        return int(script_frame) - self.offset


def to_printf(path: str) -> str:
    """`plate.####.exr` -> `plate.%04d.exr`; a `%d`/`%04d` pattern stays; the frame token must be unique."""
    if "[" in path:
        raise ValueError(f"{path}: the Read node's file holds a TCL expression; give it a plain path")
    if re.search(r"%[vV]", path):
        raise ValueError(f"{path}: stereo view patterns (%V/%v) are not supported; pick one view")
    hashes, printf = _HASHES.findall(path), _PRINTF.findall(path)
    if len(hashes) + len(printf) != 1:
        raise ValueError(f"{path}: expected exactly one frame-number token (#### or %04d)")
    if hashes:
        return _HASHES.sub(f"%0{len(hashes[0])}d", path)
    return path


def to_hashes(pattern: str) -> str:
    """`matte.%04d.exr` -> `matte.####.exr`, how Nuke users read frame patterns in a Read node."""
    return _PRINTF.sub(lambda m: "#" * max(1, int(m.group(1) or "1")), pattern)


def frame_offset(frame_mode: str, frame_value: str, first: int) -> int:
    """Offset of a Read node's output frames: `start at F` puts file frame `first` at F; `offset N` adds N."""
    text = str(frame_value).strip()
    if not text:
        return 0
    try:
        value = int(float(text))
    except ValueError as exc:
        raise ValueError(f"the Read node's frame knob holds an expression ({text}); use a number") from exc
    return value - first if frame_mode.startswith("start") else value


def read_plate(file_path: str, first: int, last: int, frame_mode: str, frame_value: str, width: int, height: int) -> ReadPlate:
    """A ReadPlate from the Read node's knob values (file, first, last, frame_mode, frame) and its format."""
    if not file_path:
        raise ValueError("the Read node has no file")
    if not file_path.startswith("/") and not re.match(r"^[A-Za-z]:[/\\]", file_path):
        raise ValueError(f"{file_path}: the daemon needs an absolute path")
    if last < first:
        raise ValueError(f"the Read node's frame range {first}-{last} is empty")
    return ReadPlate(to_printf(file_path), int(first), int(last), frame_offset(frame_mode, frame_value, int(first)), int(width), int(height))
