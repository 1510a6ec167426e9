"""QC overlay: the plate with every track drawn, the thing an artist looks at before trusting a track.

Per track: a colour of its own, a short trail over the previous frames where it was visible, a filled dot where
it is visible and a hollow ring where the tracker says it is occluded, and its name beside the dot. Sizes follow
the image height (HD is the reference), so the overlay reads the same on a 480p proxy and a 4K plate. Names
cover at most LABEL_COVER of the frame (about 100 names at HD); with more tracks a subset spread over the frame
is named and the legend says how many. Written as an image sequence, an H.264 mp4 at the plate's frame rate
and a one-page contact sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from ..errors import InputError
from ..io import Plate, open_plate
from ..io.frame_rate import plate_frame_rate
from ..progress import NullProgress, ProgressReporter, StopToken
from ..results.folder import TrackResults
from ..results.location import resolve_plate
from .common import plate_size
from .h264_movie import H264Movie

MAX_WIDTH = 1920
DEFAULT_FPS = Fraction(24)
REFERENCE_HEIGHT = 1080
LABEL_COVER = 0.12  # share of the frame the name boxes may cover: ~100 names like "track0001" at HD
FONT = cv2.FONT_HERSHEY_SIMPLEX
_SHIFT = 4


@dataclass(frozen=True)
class OverlayStyle:
    """Dot, line and text sizes for one image height; text never shrinks below what a reader can make out."""

    radius: int
    line: int
    label_scale: float
    label_thickness: int
    title_scale: float
    title_thickness: int

    @classmethod
    def for_height(cls, height: int) -> "OverlayStyle":
        k = height / REFERENCE_HEIGHT
        return cls(
            radius=max(3, round(6 * k)), line=max(1, round(2 * k)),
            label_scale=max(0.4, 0.7 * k), label_thickness=max(1, round(2 * k)),
            title_scale=max(0.45, 1.0 * k), title_thickness=max(1, round(2 * k)),
        )


@dataclass(frozen=True)
class FrameRate:
    """The QC movie's rate and where it came from (said on the contact sheet)."""

    fps: Fraction
    source: str

    @property
    def text(self) -> str:
        value = f"{float(self.fps):.3f}".rstrip("0").rstrip(".")
        return f"{value} fps ({self.source})"


def track_colours(count: int) -> np.ndarray:
    """Distinct BGR uint8 colours (golden-ratio hues) so neighbouring tracks differ."""
    hues = (np.arange(count) * 0.618034 % 1.0 * 180).astype(np.uint8)
    hsv = np.stack([hues, np.full(count, 220, np.uint8), np.full(count, 255, np.uint8)], axis=1)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]


def spread_subset(points: np.ndarray, count: int) -> np.ndarray:
    """Indices of `count` of the (x, y) `points`, each as far as possible from those already picked (greedy
    farthest-point), so the named tracks cover the frame instead of bunching in one textured corner."""
    n = len(points)
    if count >= n:
        return np.arange(n)
    picked = np.zeros(count, np.int64)
    distance = np.full(n, np.inf)
    for k in range(count):
        if k:
            picked[k] = int(np.argmax(distance))
        distance = np.minimum(distance, np.sum((points - points[picked[k]]) ** 2, axis=1))
    return np.sort(picked)


def draw_outlined(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, thickness: int,
                  colour: tuple[int, int, int]) -> None:
    """Text with a black outline: legible over any plate, bright or dark. The outline is the same text shifted
    around the origin, not a thicker stroke: OpenCV 5 draws thicker text wider, which would drift off the glyphs."""
    x, y = origin
    o = max(1, (thickness + 1) // 2)
    for dx, dy in ((-o, -o), (0, -o), (o, -o), (-o, 0), (o, 0), (-o, o), (0, o), (o, o)):
        cv2.putText(image, text, (x + dx, y + dy), FONT, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, scale, colour, thickness, cv2.LINE_AA)


class TrackOverlay:
    """Draws the tracks of `results` onto frames of one size (the plate, possibly scaled down)."""

    def __init__(self, results: TrackResults, image_size: tuple[int, int], trail: int = 8,
                 max_labels: int | None = None) -> None:
        width, height = plate_size(results)
        self.results, self.trail = results, trail
        self.style = OverlayStyle.for_height(image_size[1])
        scale = np.array([image_size[0] / width, image_size[1] / height])
        self.pixels = results.tracks * scale
        self.fixed = np.round(self.pixels * (1 << _SHIFT) - (1 << _SHIFT) / 2).astype(np.int32)
        colours = track_colours(len(results.names)).astype(np.float32)
        self.colours = [tuple(int(c) for c in colour) for colour in colours]
        self.text_colours = [tuple(int(c) for c in colour) for colour in colours + (255 - colours) * 0.45]
        budget = self.label_budget(image_size) if max_labels is None else max_labels
        self.labelled = spread_subset(results.query_points[:, 1:] * scale, max(0, budget))

    def label_budget(self, image_size: tuple[int, int]) -> int:
        """How many names fit: LABEL_COVER of the frame divided by the typical name box."""
        if not self.results.names:  # no tracks
            return 0
        s = self.style
        boxes = [cv2.getTextSize(name, FONT, s.label_scale, s.label_thickness) for name in self.results.names]
        areas = [(w + 2 * s.radius) * (h + base) for (w, h), base in boxes]
        return max(1, int(LABEL_COVER * image_size[0] * image_size[1] / float(np.median(areas))))

    @property
    def legend_note(self) -> str:
        """'104 of 300 named' when only a subset of the tracks is named, else ''."""
        total = len(self.results.names)
        return f"{len(self.labelled)} of {total} named" if len(self.labelled) < total else ""

    def draw(self, image_bgr: np.ndarray, index: int) -> np.ndarray:
        """Draw every track at frame `index` (0-based), the names, the frame number and the legend."""
        s, r = self.style, self.results
        radius = s.radius << _SHIFT
        start = max(0, index - self.trail)
        for i, colour in enumerate(self.colours):
            seen, path = r.visible[i, start:index + 1], self.fixed[i, start:index + 1]
            for a in range(len(path) - 1):
                if seen[a] and seen[a + 1]:
                    cv2.line(image_bgr, tuple(path[a]), tuple(path[a + 1]), colour, s.line, cv2.LINE_AA, _SHIFT)
            centre = tuple(self.fixed[i, index])
            if r.visible[i, index]:
                cv2.circle(image_bgr, centre, radius, colour, -1, cv2.LINE_AA, _SHIFT)
                cv2.circle(image_bgr, centre, radius, (0, 0, 0), max(1, s.line // 2), cv2.LINE_AA, _SHIFT)
            else:
                cv2.circle(image_bgr, centre, radius, colour, s.line + 1, cv2.LINE_AA, _SHIFT)
        for i in self.labelled:
            x, y = self.pixels[i, index]
            (_, h), _ = cv2.getTextSize(r.names[i], FONT, s.label_scale, s.label_thickness)
            origin = (int(round(x)) + s.radius + max(2, s.radius // 2), int(round(y + h / 2)))
            draw_outlined(image_bgr, r.names[i], origin, s.label_scale, s.label_thickness, self.text_colours[i])
        self._draw_corner_text(image_bgr, index)
        return image_bgr

    def _draw_corner_text(self, image: np.ndarray, index: int) -> None:
        """Frame number top-left; legend (filled = visible, ring = occluded, the names note) bottom-left."""
        s = self.style
        frame = f"{int(self.results.frames[index])}"
        (title_w, title_h), _ = cv2.getTextSize(frame, FONT, s.title_scale, s.title_thickness)
        margin = max(6, title_h // 2)
        _darken(image, 0, 0, title_w + 2 * margin, title_h + 2 * margin)
        draw_outlined(image, frame, (margin, margin + title_h), s.title_scale, s.title_thickness, (255, 255, 255))
        (_, label_h), _ = cv2.getTextSize("visible", FONT, s.label_scale, s.label_thickness)
        (visible_w, _), _ = cv2.getTextSize("visible  ", FONT, s.label_scale, s.label_thickness)
        (occluded_w, _), _ = cv2.getTextSize("occluded  ", FONT, s.label_scale, s.label_thickness)
        (note_w, _), _ = cv2.getTextSize(self.legend_note, FONT, s.label_scale, s.label_thickness)
        legend_w = s.radius + 2 * s.radius + visible_w + s.radius + 2 * s.radius + occluded_w  # dot text ring text
        one_row = legend_w + note_w + 2 * margin <= 0.95 * image.shape[1]
        row = int(label_h * 1.8)
        y = image.shape[0] - margin - (0 if one_row or not self.legend_note else row)
        width = legend_w + note_w if one_row else max(legend_w, note_w)
        _darken(image, 0, y - label_h - margin, width + 2 * margin, image.shape[0])
        x = margin + s.radius
        grey = (235, 235, 235)
        cv2.circle(image, (x, y - label_h // 2), s.radius, grey, -1, cv2.LINE_AA)
        cv2.circle(image, (x, y - label_h // 2), s.radius, (0, 0, 0), 1, cv2.LINE_AA)
        text_x = x + 2 * s.radius
        draw_outlined(image, "visible", (text_x, y), s.label_scale, s.label_thickness, grey)
        ring_x = text_x + visible_w + s.radius
        cv2.circle(image, (ring_x, y - label_h // 2), s.radius, (0, 0, 0), s.line + 3, cv2.LINE_AA)
        cv2.circle(image, (ring_x, y - label_h // 2), s.radius, grey, s.line + 1, cv2.LINE_AA)
        draw_outlined(image, "occluded", (ring_x + 2 * s.radius, y), s.label_scale, s.label_thickness, grey)
        if self.legend_note:
            note_at = (margin + legend_w, y) if one_row else (margin, y + row)
            draw_outlined(image, self.legend_note, note_at, s.label_scale, s.label_thickness, grey)


def _darken(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """A dim panel under corner text, so the frame number and legend read over a busy plate and its tracks."""
    y0, x0 = max(0, y0), max(0, x0)
    image[y0:y1, x0:x1] = image[y0:y1, x0:x1] // 3


def open_qc_plate(results: TrackResults) -> Plate:
    """The plate the results were tracked on, at most MAX_WIDTH wide, with the job's layer and colour."""
    plate_path = resolve_plate(results.manifest, results.folder)  # found again after a move
    job = results.manifest.get("config", {}).get("job", {})
    width, _ = plate_size(results)
    frames = f"{int(results.frames[0])}-{int(results.frames[-1])}"
    return open_plate(plate_path, frames, job.get("layer"), job.get("colorspace"), min(1.0, MAX_WIDTH / width))


def plate_frames(plate: Plate) -> Iterator[np.ndarray]:
    """The plate's frames as RGB uint8 (display encoding)."""
    for frame in plate:
        yield np.round(np.clip(frame, 0.0, 1.0) * 255.0).astype(np.uint8)


def qc_frame_rate(plate: Plate | None, requested: Fraction | None) -> FrameRate:
    """--qc-fps when given, else the rate the plate declares, else 24."""
    if requested is not None:
        return FrameRate(requested, "--qc-fps")
    declared = plate_frame_rate(plate.sequence) if plate is not None else None
    if declared is not None:
        return FrameRate(declared, "from the plate")
    return FrameRate(DEFAULT_FPS, "default; the plate declares none")


def contact_sheet(images: list[np.ndarray], caption: str = "", columns: int = 3, thumb_width: int = 640) -> np.ndarray:
    """A grid of thumbnails (BGR uint8) with a thin dark gutter and a caption line under it."""
    height, width = images[0].shape[:2]
    thumb = (min(thumb_width, width), max(1, round(height * min(thumb_width, width) / width)))
    rows = -(-len(images) // columns)
    gutter = 4
    sheet_width = columns * (thumb[0] + gutter) + gutter
    style = OverlayStyle.for_height(min(REFERENCE_HEIGHT, sheet_width * 9 // 16))
    (_, text_h), base = cv2.getTextSize("0", FONT, style.label_scale, style.label_thickness)
    strip = 2 * text_h + base if caption else 0
    grid_height = rows * (thumb[1] + gutter) + gutter
    sheet = np.full((grid_height + strip, sheet_width, 3), 24, np.uint8)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        y, x = gutter + r * (thumb[1] + gutter), gutter + c * (thumb[0] + gutter)
        sheet[y:y + thumb[1], x:x + thumb[0]] = cv2.resize(image, thumb, interpolation=cv2.INTER_AREA)
    if caption:
        draw_outlined(sheet, caption, (gutter + 4, grid_height + text_h + base // 2), style.label_scale,
                      style.label_thickness, (235, 235, 235))
    return sheet


def write_qc(
    results: TrackResults, folder: Path, frames_rgb: Iterable[np.ndarray] | None = None, *, image_format: str = "png",
    fps: Fraction | None = None, sheet_frames: int = 6, trail: int = 8, progress: ProgressReporter | None = None,
    stop: StopToken | None = None,
) -> list[Path]:
    """Write qc.<frame>.<png|jpg>, qc.mp4 and contact_sheet.png into `folder`; returns the paths written.

    `fps` overrides the movie's rate (else the plate's, else 24); `frames_rgb` replaces reading the plate."""
    if image_format not in ("png", "jpg"):
        raise InputError(f"QC images are png or jpg, not {image_format!r}")
    progress = progress or NullProgress()
    folder.mkdir(parents=True, exist_ok=True)
    plate = open_qc_plate(results) if frames_rgb is None else None
    rate = qc_frame_rate(plate, fps)
    frames_rgb = frames_rgb if plate is None else plate_frames(plate)
    count = len(results.frames)
    picks = set(np.linspace(0, count - 1, min(sheet_frames, count)).round().astype(int).tolist())
    sheet_images, written = [], []
    overlay = None
    progress.begin("qc overlay", count)
    try:
        with H264Movie(folder / "qc.mp4", rate.fps) as movie:
            for index, rgb in enumerate(frames_rgb):
                if stop is not None:
                    stop.raise_if_requested("while writing the QC overlay")
                image = np.ascontiguousarray(rgb[..., ::-1])
                if overlay is None:
                    overlay = TrackOverlay(results, (image.shape[1], image.shape[0]), trail)
                overlay.draw(image, index)
                movie.write(image)
                path = folder / f"qc.{int(results.frames[index]):04d}.{image_format}"
                if not cv2.imwrite(str(path), image):
                    raise OSError(f"cannot write {path}")
                written.append(path)
                if index in picks:
                    sheet_images.append(image)
                progress.update(index + 1)
    finally:
        progress.end()
    if overlay is not None:
        written.append(folder / "qc.mp4")
    if sheet_images:
        frames = f"{int(results.frames[0])}-{int(results.frames[-1])}"
        parts = [Path(str(results.manifest.get("plate") or "plate")).name, f"frames {frames}", rate.text,
                 f"names on {len(overlay.labelled)} of {len(results.names)} tracks"]
        sheet_path = folder / "contact_sheet.png"
        cv2.imwrite(str(sheet_path), contact_sheet(sheet_images, "   ".join(parts)))
        written.append(sheet_path)
    return written
