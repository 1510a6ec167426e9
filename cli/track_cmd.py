"""`omnivfx track`: plate in, results folder out, on this machine. Its job options come from the job schema."""

from __future__ import annotations

import json

import click

from .errors import handle_errors
from .job_options import job_fields, job_options
from .signals import stop_on_signals

EPILOG_TRACK = """\b
Examples:
  omnivfx track shots/sh010/plate.%04d.exr --queries points.csv
  omnivfx track plate.####.exr --frames 1001-1048 --grid 16 --proxy 0.5
  omnivfx track plate.%04d.exr --queries nuke_points.csv --origin bottom-left --export nuke
  omnivfx track plate.mp4 --grid 8 --json-progress
Exit codes: 0 done, 1 internal error, 2 bad input, 3 interrupted (run again to resume).
stdout: the results folder; with --json-progress, JSON lines ending with {"result": FOLDER}."""


def progress_reporter(json_progress: bool, export: bool = False):
    """JSON lines on stdout for farm wrappers; a bar on stderr at a terminal, a few plain lines in a log."""
    from omnimotion_vfx.progress import for_terminal
    from omnimotion_vfx.progress_eta import TRACK_EXPORT_PLAN, TRACK_PLAN

    return for_terminal(json_progress, plan=TRACK_EXPORT_PLAN if export else TRACK_PLAN)


@click.command(epilog=EPILOG_TRACK)
@click.argument("plate", required=False)
@job_options("track")
@click.option("--json-progress", is_flag=True, help='Progress as JSON lines on stdout, then {"result": FOLDER}.')
@click.option("--job", "job_spec", type=click.Path(dir_okay=False), help="Run a JSON job spec (farm use).")
@handle_errors
def track(plate, json_progress, job_spec, **options):
    """Track points through PLATE (a frame pattern, a folder of frames or a video file)."""
    from omnimotion_vfx.engine_available import require_engine
    from omnimotion_vfx.errors import InputError

    require_engine("track")
    from omnimotion_vfx.exporters.folder_export import check_track_export
    from omnimotion_vfx.job_runner import run_track_job
    from omnimotion_vfx.tracking.job import TrackJob

    fields = job_fields(options)
    if job_spec:
        if plate or fields:
            raise InputError(f"--job {job_spec} holds the whole job; give no PLATE or job options with it")
        job = TrackJob.from_json_file(job_spec)
    elif not plate:
        raise InputError("missing PLATE; e.g. omnivfx track plate.%04d.exr --queries points.csv")
    else:
        job = TrackJob(plate=plate, **fields)
    if job.export:
        check_track_export(job.export)  # before the long track
    progress = progress_reporter(json_progress, bool(job.export))
    with stop_on_signals() as stop:
        folder = run_track_job(job, progress, stop).resolve()
    click.echo(json.dumps({"result": str(folder)}) if json_progress else str(folder))
