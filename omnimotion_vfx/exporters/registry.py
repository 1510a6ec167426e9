"""`--format` names -> the writer for each, and where each writes inside the export folder."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

from ..errors import InputError
from ..progress import NullProgress, ProgressReporter, StopToken
from ..results.dense import MapPoints
from ..results.folder import TrackResults
from . import blender_script, dense_maps, mattes, nuke_tracks, qc_overlay, text_tracks
from .common import plate_size


@dataclass
class ExportOptions:
    out: Path
    reference_frame: int | None = None  # STMap target, matte region frame, CornerPin from-frame
    corners: list[str] | None = None
    region_polygon: str | None = None
    region_mask: str | None = None
    half: bool = False
    compression: str = "zip"
    matte_samples: int = 2
    threede_first_frame: int = 1
    qc_image_format: str = "png"
    qc_fps: Fraction | None = None  # QC movie rate; None: the plate's own, else 24


@dataclass
class ExportJob:
    """What one writer needs: the tracks, the options and, for dense formats, the tracker's map_points."""

    results: TrackResults
    options: ExportOptions
    map_points: MapPoints | None
    progress: ProgressReporter
    stop: StopToken | None


Writer = Callable[[ExportJob], list[Path]]


def _reference(results: TrackResults, options: ExportOptions) -> int:
    frame = options.reference_frame if options.reference_frame is not None else int(results.frames[0])
    results.frame_index(frame)
    return frame


def _nuke(job: ExportJob) -> list[Path]:
    return [nuke_tracks.write_tracker4(job.results, job.options.out / "nuke" / "tracks.nk")]


def _cornerpin(job: ExportJob) -> list[Path]:
    o = job.options
    return [nuke_tracks.write_cornerpin(job.results, o.out / "nuke" / "cornerpin.nk", o.corners, o.reference_frame)]


def _nuke_ascii(job: ExportJob) -> list[Path]:
    return nuke_tracks.write_import_ascii(job.results, job.options.out / "nuke" / "ascii")


def _threede(job: ExportJob) -> list[Path]:
    o = job.options
    return [text_tracks.write_3de_points(job.results, o.out / "3de" / "points.txt", o.threede_first_frame)]


def _csv(job: ExportJob) -> list[Path]:
    return [text_tracks.write_csv(job.results, job.options.out / "tracks.csv")]


def _json(job: ExportJob) -> list[Path]:
    return [text_tracks.write_json(job.results, job.options.out / "tracks.json")]


def _blender(job: ExportJob) -> list[Path]:
    path = job.options.out / "blender" / "tracks.py"
    return [blender_script.write_blender_script(job.results, path, _first_file(job.results))]


def _mattes(job: ExportJob) -> list[Path]:
    r, o = job.results, job.options
    size = plate_size(r)
    coverage = (mattes.polygon_coverage(mattes.parse_polygon(o.region_polygon), size) if o.region_polygon
                else mattes.mask_coverage(o.region_mask, size))
    folder = o.out / "mattes"
    written = [text_tracks.write_visibility_table(r, folder / "visibility.csv")]
    return written + mattes.write_mattes(
        job.map_points, _frames(r), _reference(r, o), coverage, folder, samples=o.matte_samples, half=o.half,
        compression=o.compression, progress=job.progress, stop=job.stop,
    )


def _motion(job: ExportJob) -> list[Path]:
    r, o = job.results, job.options
    return dense_maps.write_motion_vectors(
        job.map_points, _frames(r), plate_size(r), o.out / "motion", half=o.half, compression=o.compression,
        progress=job.progress, stop=job.stop,
    )


def _stmap(job: ExportJob) -> list[Path]:
    r, o = job.results, job.options
    return dense_maps.write_stmaps(
        job.map_points, _frames(r), _reference(r, o), plate_size(r), o.out / "stmap", compression=o.compression,
        progress=job.progress, stop=job.stop,
    )


def _qc(job: ExportJob) -> list[Path]:
    o = job.options
    return qc_overlay.write_qc(job.results, o.out / "qc", image_format=o.qc_image_format, fps=o.qc_fps,
                               progress=job.progress, stop=job.stop)


def _frames(results: TrackResults) -> list[int]:
    return [int(f) for f in results.frames]


def _first_file(results: TrackResults) -> str | None:
    """The plate's first frame file, so the Blender script can load the clip when none is open."""
    from ..io.sequence import find_sequence
    from ..results.location import resolve_plate

    try:
        return str(find_sequence(resolve_plate(results.manifest, results.folder), None).paths[0])
    except (InputError, OSError):  # a moved plate only costs the convenience of auto-loading it
        return None


FORMATS: dict[str, Writer] = {
    "nuke": _nuke, "cornerpin": _cornerpin, "nuke-ascii": _nuke_ascii, "3de": _threede, "csv": _csv,
    "json": _json, "blender": _blender, "mattes": _mattes, "motion": _motion, "stmap": _stmap, "qc": _qc,
}
DENSE_FORMATS = frozenset({"mattes", "motion", "stmap"})
TRACK_FORMATS = ("nuke", "nuke-ascii", "3de", "csv", "json", "blender")


def parse_formats(values: list[str] | tuple[str, ...] | str) -> list[str]:
    """`nuke,3de` or repeated options -> ordered unique names; `tracks` means every track-only format."""
    items = [values] if isinstance(values, str) else list(values)
    names: list[str] = []
    for item in items:
        for name in (n.strip().lower() for n in item.split(",")):
            expanded = TRACK_FORMATS if name == "tracks" else (name,)
            for one in expanded:
                if one and one not in names:
                    names.append(one)
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise InputError(f"unknown export format {', '.join(unknown) or '(none)'}; choose from tracks, {', '.join(FORMATS)}")
    return names


def check_options(results: TrackResults, formats: list[str], options: ExportOptions) -> None:
    """Fail on bad options before any slow work (reloading a tracker, writing dense frames)."""
    if "mattes" in formats and (options.region_polygon is None) == (options.region_mask is None):
        raise InputError("--format mattes needs one region: --region-polygon 'x,y x,y x,y' or --region-mask FILE")
    if options.reference_frame is not None:
        results.frame_index(options.reference_frame)


def export_results(
    results: TrackResults, formats: list[str], options: ExportOptions, map_points: MapPoints | None = None,
    progress: ProgressReporter | None = None, stop: StopToken | None = None,
) -> dict[str, list[Path]]:
    """Write each format; dense ones need `map_points` from the fitted tracker. Returns the paths per format."""
    progress = progress or NullProgress()
    check_options(results, formats, options)
    need_dense = [f for f in formats if f in DENSE_FORMATS]
    if need_dense and map_points is None:
        raise InputError(f"{', '.join(need_dense)} need the fitted tracker; export them with `omnivfx export`")
    job = ExportJob(results, options, map_points, progress, stop)
    return {name: FORMATS[name](job) for name in formats}
