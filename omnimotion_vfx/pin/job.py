"""`omnivfx pin` as one library call: a `PinJob` (plain data) in, the graphic pinned and written, a `PinReport` out.

The tracker's fit comes from the results folder (`--results`, else the default of `omnivfx track`:
`$OMNIVFX_RESULTS/<plate folder name>_<plate name>/`, or `./omnivfx/...` when the variable is unset) when it
holds one: `load_fitted` reloads it with the job and engine overrides recorded there and never refits, so the
folder's tracking settings win and an option asking for other ones is an input error (it would mean another
fit). A folder without a manifest is fitted as `omnivfx track` would, and the manifest is written with the
pinned corners' tracks (`pin_tl`, `pin_tr`, `pin_br`, `pin_bl`), so the next pin or export reuses that fit.
Either way the flow cache (work/flow) is removed once the pin is written, as after a track, unless the folder's
job or this pin keeps it (--keep-cache).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import Plate, open_plate
from ..io.sequence import find_sequence
from ..progress import NullProgress, ProgressReporter, StopToken
from ..results.folder import MANIFEST_FILE, write_results
from ..results.location import default_results_dir
from ..results.work_cache import finish_work
from ..tracking.job import FittedJob, TrackJob, fit_job, load_fitted, recorded_job
from .graphic import GraphicSource, read_mask
from .pipeline import PinOutputs, PinReport, PlateFrames, run_pin
from .region import PinPlacement, make_placement, parse_corners
from .solve import solve_pin

CORNER_TRACKS = ("pin_tl", "pin_tr", "pin_br", "pin_bl")


@dataclass
class PinJob:
    """What `omnivfx pin` is asked for. Tracking settings left None were not asked for: the results folder's
    own when it holds a fit, otherwise the defaults of `omnivfx track`."""

    plate: str
    graphic: str
    at_frame: int
    corners: str | None = None  # "x1,y1,...,x4,y4": TL, TR, BR, BL in plate pixels
    mask: str | None = None
    mode: str = "planar"
    out: str | None = None
    over: bool = False
    stmap_dir: str | None = None
    frames: str | None = None
    results_dir: str | None = None
    device: str = "auto"  # where the fit runs or is reloaded; not part of the fit
    tracker: str | None = None
    preset: str | None = None
    proxy: float | None = None
    layer: str | None = None
    colorspace: str | None = None
    keep_cache: bool = False  # keep work/flow after the pin (it is kept anyway when the folder's track kept it)


def run_pin_job(job: PinJob, progress: ProgressReporter | None = None, stop: StopToken | None = None) -> PinReport:
    """Place the graphic, reload or fit the plate's tracker, solve the pin and write its files. Raises InputError
    for bad input and Interrupted when stopped (a fit in progress is checkpointed and resumes)."""
    progress = progress or NullProgress()
    stop = stop or StopToken()
    outputs = PinOutputs(job.out, job.over, job.stmap_dir)
    if outputs.out is None and outputs.stmap_dir is None:
        raise InputError("nothing to write: give --out pin/name.%04d.exr and/or --stmap DIR")
    if outputs.over and outputs.out is None:
        raise InputError("--over writes into --out; give --out pin/comp.%04d.exr")
    quad = parse_corners(job.corners) if job.corners else None
    region = read_mask(job.mask) if job.mask else None
    source = GraphicSource(job.graphic)
    results_dir = _results_folder(job)
    reuse = (results_dir / MANIFEST_FILE).is_file()
    plate = _tracked_plate(job, results_dir) if reuse else open_plate(job.plate, job.frames, job.layer, job.colorspace)
    placement = make_placement(job.at_frame, plate.full_size, quad, region)
    if job.at_frame not in plate.frame_numbers:
        raise InputError(f"--at {job.at_frame} is not a frame of the plate ({plate.frame_numbers[0]}-{plate.frame_numbers[-1]})")
    if reuse:
        fitted = load_fitted(results_dir, progress, stop, job.device)
    else:
        fitted = _fit_and_record(job, results_dir, placement, progress, stop)
    solve = solve_pin(fitted.motion(progress=progress, stop=stop), fitted.frame_numbers, placement, source.size, stop=stop)
    report = run_pin(solve, source, outputs, job.mode, PlateFrames(plate) if job.over else None, progress, stop)
    finish_work(results_dir, job.keep_cache or fitted.job.keep_cache)
    report.results_dir, report.reused_fit = str(results_dir), reuse
    return report


def _results_folder(job: PinJob) -> Path:
    if job.results_dir:
        return Path(job.results_dir)
    sequence = find_sequence(job.plate, job.frames)
    return default_results_dir(sequence.source, sequence.name)


def _tracked_plate(job: PinJob, results_dir: Path) -> Plate:
    """PLATE as the results folder tracked it (its frames, layer and colour), after checking that the options
    given agree with that track: any that differ would need another fit, which a reload never does."""
    recorded, _ = recorded_job(results_dir)
    asked = {"--tracker": (job.tracker, recorded.tracker), "--preset": (job.preset, recorded.preset),
             "--proxy": (job.proxy, recorded.proxy), "--layer": (job.layer, recorded.layer),
             "--colorspace": (job.colorspace, recorded.colorspace)}
    conflicts = [f"{option} {theirs if theirs is not None else '(none)'} (not {mine})"
                 for option, (mine, theirs) in asked.items() if mine is not None and mine != theirs]
    tracked = open_plate(recorded.plate, recorded.frames, recorded.layer, recorded.colorspace)
    plate = open_plate(job.plate, job.frames or recorded.frames, recorded.layer, recorded.colorspace)
    if job.frames is not None and plate.frame_numbers != tracked.frame_numbers:
        conflicts.append(f"--frames {recorded.frames or f'{tracked.frame_numbers[0]}-{tracked.frame_numbers[-1]}'} (not {job.frames})")
    if conflicts:
        raise InputError(f"{results_dir} was tracked with {' and '.join(conflicts)}; drop those options to reuse its "
                         "fit, or give another --results folder to fit with them")
    if _real_paths(tracked) != _real_paths(plate):
        raise InputError(f"{results_dir} was tracked on {recorded.plate}, not on {job.plate}; give that plate or "
                         "another --results folder")
    return plate


def _real_paths(plate: Plate) -> list[str]:
    return [os.path.realpath(path) for path in plate.sequence.paths]


def _fit_and_record(job: PinJob, results_dir: Path, placement: PinPlacement, progress: ProgressReporter,
                    stop: StopToken) -> FittedJob:
    """Fit the plate as `omnivfx track` would and write the results folder, the pinned quad's corners (moved
    onto the plate's edge where they lie outside it) as its tracks, so later pins and exports reload this fit."""
    width, height = placement.plate_size
    corners = np.clip(placement.corners, 0.0, [width, height])
    points = np.column_stack([np.full(4, placement.ref_frame, np.float64), corners])
    asked = {"tracker": job.tracker, "preset": job.preset, "proxy": job.proxy}
    track_job = TrackJob(plate=job.plate, frames=job.frames, out=str(results_dir), device=job.device, layer=job.layer,
                         colorspace=job.colorspace, keep_cache=job.keep_cache, query_points=points.tolist(),
                         query_names=list(CORNER_TRACKS),
                         **{name: value for name, value in asked.items() if value is not None})
    fitted, queries = fit_job(track_job, progress, stop)
    stop.raise_if_requested("before writing the results folder")
    write_results(fitted.out_dir, fitted.answer(queries.points, queries.names, progress, stop))
    return fitted
