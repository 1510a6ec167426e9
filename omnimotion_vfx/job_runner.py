"""A track job end to end: fit, answer, write the results folder, export, drop the flow cache.

The one path of `omnivfx track`, the daemon's local engine and batch shots. It sits above `tracking/` and
`exporters/` (both of which it uses; exporters read tracking's `load_fitted`), so the arrows stay one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .exporters.folder_export import check_track_export, export_folder
from .progress import ProgressReporter, StopToken
from .results.folder import TrackResults, write_results
from .results.work_cache import finish_work
from .tracking.job import FittedJob, TrackJob, fit_job


@dataclass
class TrackedJob:
    """What a finished track leaves: its results folder, the results, and the fitted clip (the daemon keeps it)."""

    folder: Path
    results: TrackResults
    fitted: FittedJob


def track_and_export(job: TrackJob, progress: ProgressReporter | None = None,
                     stop: StopToken | None = None) -> TrackedJob:
    """Fit, answer the queries, write the results folder, export the job's `export` formats with the clip just
    fitted (so dense formats neither reload nor recompute the flow), then drop the flow cache unless the job keeps
    it. Raises InputError for bad input (an unusable `export` before any tracking) and Interrupted when stopped."""
    if job.export:
        check_track_export(job.export)
    stop = stop or StopToken()
    fitted, queries = fit_job(job, progress, stop)
    results = fitted.answer(queries.points, queries.names, progress, stop)
    stop.raise_if_requested("before writing results")
    folder = write_results(fitted.out_dir, results)
    if job.export:
        export_folder(folder, job.export, progress, stop, fitted=fitted)
    finish_work(folder, job.keep_cache)
    return TrackedJob(folder, results, fitted)


def run_track_job(job: TrackJob, progress: ProgressReporter | None = None, stop: StopToken | None = None) -> Path:
    """Plate in, results folder (with RESULTS/export when the job names formats) out; see `track_and_export`."""
    return track_and_export(job, progress, stop).folder
