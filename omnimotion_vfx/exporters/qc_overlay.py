"""QC overlay: the plate with every track drawn, the thing an artist looks at before trusting a track.

Per track: a colour of its own, a short trail over the previous frames where it was visible, a filled dot where
it is visible and a hollow ring where the tracker says it is occluded. Written as an image sequence, an mp4
(OpenCV's mp4v writer; H.264 is not available in the OpenCV wheel) and a one-page contact sheet.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from ..errors import InputError
from ..file_modes import publish
from ..io import open_plate
from ..progress import NullProgress, ProgressReporter, StopToken
from ..results.folder import TrackResults
from ..results.location import resolve_plate
from .common import plate_size

MAX_WIDTH = 1920
_SHIFT = 4


def track_colours(count: int) -> np.ndarray:
    """Distinct BGR uint8 colours (golden-ratio hues) so neighbouring tracks differ."""
    hues = (np.arange(count) * 0.618034 % 1.0 * 180).astype(np.uint8)
    hsv = np.stack([hues, np.full(count, 220, np.uint8), np.full(count, 255, np.uint8)], axis=1)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]


def draw_tracks(image_bgr: np.ndarray, results: TrackResults, index: int, trail: int = 8) -> np.ndarray:
    """Draw every track at frame `index` onto a BGR uint8 image (which may be a scaled copy of the plate)."""
    width, height = plate_size(results)
    scale = np.array([image_bgr.shape[1] / width, image_bgr.shape[0] / height])
    radius = max(3, round(min(image_bgr.shape[:2]) / 120))
    colours = track_colours(len(results.names))
    fixed = np.round(results.tracks * scale * (1 << _SHIFT) - (1 << _SHIFT) / 2).astype(np.int32)
    start = max(0, index - trail)
    for i in range(len(results.names)):
        colour = tuple(int(c) for c in colours[i])
        seen = results.visible[i, start:index + 1]
        path = fixed[i, start:index + 1]
        for a in range(len(path) - 1):
            if seen[a] and seen[a + 1]:
                cv2.line(image_bgr, tuple(path[a]), tuple(path[a + 1]), colour, 1, cv2.LINE_AA, _SHIFT)
        centre = tuple(fixed[i, index])
        if results.visible[i, index]:
            cv2.circle(image_bgr, centre, radius << _SHIFT, colour, -1, cv2.LINE_AA, _SHIFT)
            cv2.circle(image_bgr, centre, radius << _SHIFT, (0, 0, 0), 1, cv2.LINE_AA, _SHIFT)
        else:
            cv2.circle(image_bgr, centre, radius << _SHIFT, colour, 2, cv2.LINE_AA, _SHIFT)
    label = f"{int(results.frames[index])}"
    cv2.putText(image_bgr, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image_bgr, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return image_bgr


def plate_frames(results: TrackResults) -> Iterator[np.ndarray]:
    """The results' frames of the plate (found again after a move, results/location.py) as RGB uint8, at most
    MAX_WIDTH wide (display encoding)."""
    plate_path = resolve_plate(results.manifest, results.folder)
    job = results.manifest.get("config", {}).get("job", {})
    width, _ = plate_size(results)
    frames = f"{int(results.frames[0])}-{int(results.frames[-1])}"
    plate = open_plate(plate_path, frames, job.get("layer"), job.get("colorspace"), min(1.0, MAX_WIDTH / width))
    for frame in plate:
        yield np.round(np.clip(frame, 0.0, 1.0) * 255.0).astype(np.uint8)


def contact_sheet(images: list[np.ndarray], columns: int = 3, thumb_width: int = 640) -> np.ndarray:
    """A grid of thumbnails (BGR uint8) with a thin dark gutter."""
    height, width = images[0].shape[:2]
    thumb = (min(thumb_width, width), max(1, round(height * min(thumb_width, width) / width)))
    rows = -(-len(images) // columns)
    gutter = 4
    sheet = np.full((rows * (thumb[1] + gutter) + gutter, columns * (thumb[0] + gutter) + gutter, 3), 24, np.uint8)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        y, x = gutter + r * (thumb[1] + gutter), gutter + c * (thumb[0] + gutter)
        sheet[y:y + thumb[1], x:x + thumb[0]] = cv2.resize(image, thumb, interpolation=cv2.INTER_AREA)
    return sheet


def write_qc(
    results: TrackResults, folder: Path, frames_rgb: Iterable[np.ndarray] | None = None, *, image_format: str = "png",
    fps: float = 24.0, sheet_frames: int = 6, trail: int = 8, progress: ProgressReporter | None = None,
    stop: StopToken | None = None,
) -> list[Path]:
    """Write qc.<frame>.<png|jpg>, qc.mp4 and contact_sheet.png into `folder`; returns the paths written."""
    if image_format not in ("png", "jpg"):
        raise InputError(f"QC images are png or jpg, not {image_format!r}")
    progress = progress or NullProgress()
    folder.mkdir(parents=True, exist_ok=True)
    frames_rgb = frames_rgb if frames_rgb is not None else plate_frames(results)
    count = len(results.frames)
    picks = set(np.linspace(0, count - 1, min(sheet_frames, count)).round().astype(int).tolist())
    sheet_images, written = [], []
    fd, tmp_video = tempfile.mkstemp(prefix=".qc.", suffix=".tmp.mp4", dir=folder)
    os.close(fd)
    writer = None
    progress.begin("qc overlay", count)
    try:
        for index, rgb in enumerate(frames_rgb):
            if stop is not None:
                stop.raise_if_requested("while writing the QC overlay")
            image = draw_tracks(np.ascontiguousarray(rgb[..., ::-1]), results, index, trail)
            if writer is None:
                writer = cv2.VideoWriter(tmp_video, cv2.VideoWriter_fourcc(*"mp4v"), fps, (image.shape[1], image.shape[0]))
                if not writer.isOpened():
                    raise OSError("OpenCV cannot open an mp4v video writer here")
            writer.write(image)
            path = folder / f"qc.{int(results.frames[index]):04d}.{image_format}"
            if not cv2.imwrite(str(path), image):
                raise OSError(f"cannot write {path}")
            written.append(path)
            if index in picks:
                sheet_images.append(image)
            progress.update(index + 1)
        if writer is not None:
            writer.release()
            writer = None
            publish(tmp_video, folder / "qc.mp4")
            written.append(folder / "qc.mp4")
    finally:
        if writer is not None:
            writer.release()
        if os.path.exists(tmp_video):
            os.unlink(tmp_video)
        progress.end()
    if sheet_images:
        sheet_path = folder / "contact_sheet.png"
        cv2.imwrite(str(sheet_path), contact_sheet(sheet_images))
        written.append(sheet_path)
    return written
