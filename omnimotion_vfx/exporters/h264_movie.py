"""An H.264 mp4 that browsers, RV and review tools play: libx264 through PyAV (its wheels ship FFmpeg with x264).

yuv420p (the only 4:2:0 layout every decoder takes) needs even dimensions, so an odd last row or column is
repeated. The pixels are converted with the BT.709 matrix and tagged BT.709, limited range, so players show the
sRGB overlay without a colour shift. `+faststart` puts the index in front, so a browser starts playing while
the file is still loading. The movie is written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

from ..file_modes import publish

CRF = "18"  # visually lossless for overlays with thin lines and small text
PRESET = "fast"
BT709 = 1  # AVCOL_SPC/PRI/TRC_BT709
LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG


class H264Movie:
    """`with H264Movie(path, fps) as movie: movie.write(bgr)` for each BGR uint8 frame of one size."""

    def __init__(self, path: Path, fps: Fraction) -> None:
        self.path = Path(path)
        self.fps = fps
        self._container = None
        self._stream = None
        self._size: tuple[int, int] | None = None
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".tmp.mp4", dir=self.path.parent)
        os.close(fd)

    def __enter__(self) -> "H264Movie":
        return self

    def write(self, bgr: np.ndarray) -> None:
        import av

        height, width = bgr.shape[:2]
        if self._stream is None:
            self._open(width, height)
        elif (width, height) != self._size:
            raise ValueError(f"movie frames must keep one size: {self._size}, then {(width, height)}")
        padded = np.pad(bgr, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge") if (height | width) % 2 else bgr
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(padded), format="bgr24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self._container is not None:
                if kind is None:
                    for packet in self._stream.encode():
                        self._container.mux(packet)
                self._container.close()
            if kind is None and self._stream is not None:
                publish(self._tmp, self.path)
        finally:
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)

    def _open(self, width: int, height: int) -> None:
        import av

        self._size = (width, height)
        self._container = av.open(self._tmp, "w", format="mp4", options={"movflags": "+faststart"})
        stream = self._container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": CRF, "preset": PRESET}
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = BT709
        context.color_range = LIMITED_RANGE
        self._stream = stream
