"""`omnivfx batch SHOTS`: track every shot of a shot list on a Ray cluster (docs/batch.md)."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from .errors import handle_errors
from .signals import stop_on_signals

EPILOG_BATCH = """\b
Examples:
  omnivfx batch shots.toml                       # a local Ray on this machine
  omnivfx batch shots.yaml --ray-address auto    # the cluster `ray start` joined
  omnivfx batch shots.json --ray-address 10.0.0.5:6379 --gpus-per-shot 0.25 --json-progress
Shots already finished with the same settings are skipped; run again to resume interrupted ones.
Exit codes: 0 all shots done or skipped, 1 a shot failed (internal error, worker lost),
2 only bad-input failures, 3 interrupted (run again to resume)."""


@click.command(epilog=EPILOG_BATCH)
@click.argument("shot_list", type=click.Path(dir_okay=False))
@click.option("--ray-address", help="Ray cluster: 'auto' or HOST:PORT (default: start a local Ray here).")
@click.option("--num-cpus", type=click.IntRange(min=1), help="CPUs of the local Ray (default: all).")
@click.option("--gpus-per-shot", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="GPUs each shot asks for; fractions share a card (CPU workers when the cluster has none).")
@click.option("--cpus-per-shot", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True)
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Extra attempts after a worker death or an unexpected error (never after bad input).")
@click.option("--json-progress", is_flag=True, help="Events and the summary as JSON lines on stdout.")
@handle_errors
def batch(shot_list, ray_address, num_cpus, gpus_per_shot, cpus_per_shot, retries, json_progress):
    """Track every shot of SHOT_LIST (.toml, .yaml or .json) across a Ray cluster."""
    from omnimotion_vfx.batch.cluster import ShotResources, import_ray, ray_session
    from omnimotion_vfx.batch.shot_list import load_shot_list
    from omnimotion_vfx.engine_available import require_engine

    require_engine("batch")

    shots = load_shot_list(shot_list)
    resources = ShotResources(gpus=gpus_per_shot, cpus=cpus_per_shot, retries=retries)
    import_ray()  # a one-line message when Ray is missing, before the modules built on it load

    from omnimotion_vfx.batch.display import JsonLinesBatchView, stderr_view
    from omnimotion_vfx.batch.runner import batch_exit_code, run_batch
    from omnimotion_vfx.batch.summary import format_summary

    stdout = sys.stdout
    # Ray prints worker errors and retries on the driver's sys.stdout; keep stdout for our JSON lines.
    with contextlib.redirect_stdout(sys.stderr), ray_session(ray_address, num_cpus):
        view = JsonLinesBatchView(stdout) if json_progress else stderr_view(len(shots))
        try:
            with stop_on_signals() as stop:
                reports = run_batch(shots, resources, view, stop)
        finally:
            view.close()
    table = format_summary(reports)
    if json_progress:
        click.echo(json.dumps({"type": "summary", "shots": [r.to_dict() for r in reports]}))
        click.echo(table, err=True)
    else:
        click.echo(table)
    sys.exit(batch_exit_code(reports))
