"""`omnivfx submit`: send a plate to the daemon, optionally follow it and write its results folder here."""

from __future__ import annotations

import json
import os
import sys

import click

from omnimotion_vfx.daemon.protocol import DEFAULT_ENDPOINT

from .errors import handle_errors
from .job_options import job_fields, job_options

EPILOG = """\b
Examples:
  omnivfx submit shots/sh010/plate.%04d.exr --queries points.csv --watch
  omnivfx submit plate.####.exr --grid 16 --tracker chained-flow --connect tcp://127.0.0.1:5571
  omnivfx submit render.%04d.exr --layer beauty --proxy 0.5 --grid 8 --export nuke,3de --watch
The plate and points.csv must be on storage the daemon can read (paths are sent absolute). --export runs on
the daemon after the track, into RESULTS/export (it holds the fitted clip).
Exit codes: 0 done (or queued without --watch), 1 daemon unreachable/internal, 2 bad input, 3 cancelled/interrupted."""


@click.command(epilog=EPILOG)
@click.argument("plate")
@job_options("submit")
@click.option("--watch", is_flag=True, help="Stream progress, wait for the result and make sure the results folder exists here.")
@click.option("--json-progress", is_flag=True, help='With --watch: progress as JSON lines on stdout, then {"result": FOLDER}.')
@click.option("--connect", default=DEFAULT_ENDPOINT, show_default=True, help="Daemon endpoint.")
@click.option("--curve-keys", type=click.Path(file_okay=False), help="Client key folder (from `omnivfx keys DIR --client NAME`).")
@handle_errors
def submit(plate, watch, json_progress, connect, curve_keys, **options):
    """Queue PLATE on the daemon; prints the job id, or with --watch the results folder."""
    from omnimotion_vfx.client import Client
    from omnimotion_vfx.tracking.job_schema import client_keywords

    fields = job_fields(options)
    with Client(connect, curve_keys=curve_keys) as client:
        job_id = client.submit(plate, **client_keywords(fields))
        if not watch:
            click.echo(job_id)
            return
        click.echo(f"omnivfx: job {job_id} queued on {connect}", err=True)
        result = client.wait(job_id, on_progress=_printer(json_progress))
    folder = _materialise(result, fields.get("out"))
    click.echo(json.dumps({"result": folder}) if json_progress else folder)


def _printer(json_progress: bool):
    """The daemon's events shown as the local commands show theirs (JSON lines, a bar, or log lines)."""
    from omnimotion_vfx.progress import for_terminal

    view = for_terminal(json_progress)
    return lambda progress: view.relay({"job_id": progress.job_id, "state": progress.state, "stage": progress.stage,
                                        "step": progress.step, "total": progress.total, "eta": progress.eta,
                                        **progress.metrics})


def _materialise(result, out: str | None) -> str:
    """The daemon wrote the folder; when it lives on another machine, write the same folder here."""
    from omnimotion_vfx.results.folder import MANIFEST_FILE, TrackResults, write_results

    if sys.stderr.isatty():  # end the progress bar's line; a log gets no blank line
        sys.stderr.write("\n")
    target = os.path.abspath(out) if out else result.results_dir
    if target and os.path.isfile(os.path.join(target, MANIFEST_FILE)):
        return target
    target = target or os.path.abspath(f"omnivfx_{result.job_id}")
    results = TrackResults(result.frames, result.query_points, result.tracks, result.visible, result.names, result.manifest)
    return str(write_results(target, results))
