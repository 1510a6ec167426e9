"""`omnivfx status`: is the daemon alive, which version, which jobs; non-zero exit within seconds if not."""

from __future__ import annotations

import json
import time

import click

from omnimotion_vfx.daemon.protocol import DEFAULT_ENDPOINT

from .errors import handle_errors


@click.command()
@click.option("--connect", default=DEFAULT_ENDPOINT, show_default=True, help="Daemon endpoint.")
@click.option("--curve-keys", type=click.Path(file_okay=False), help="Client key folder (from `omnivfx keys DIR --client NAME`).")
@click.option("--json", "as_json", is_flag=True, help="Print the status and job list as one JSON object.")
@click.option("--timeout", type=click.FloatRange(0.1, 60), default=1.5, show_default=True, help="Seconds per try (2 tries).")
@handle_errors
def status(connect, curve_keys, as_json, timeout):
    """Show the daemon's version, uptime, queue and jobs (exit 1 when no daemon answers)."""
    from omnimotion_vfx.client import Client

    with Client(connect, timeout=timeout, retries=1, curve_keys=curve_keys) as client:
        info = client.status()
        jobs = client.list_jobs()
    if as_json:
        click.echo(json.dumps({"status": info, "jobs": jobs}, indent=2))
        return
    counts = ", ".join(f"{n} {state}" for state, n in sorted(info["jobs"].items())) or "no jobs"
    click.echo(f"omnivfx daemon {info['version']} (protocol {info['protocol']}) at {connect}, pid {info['pid']}, "
               f"up {info['uptime']:.0f} s, {info['workers']} worker(s) on {info.get('engine', 'local')}; {counts}")
    for job in jobs:
        progress = job.get("progress") or {}
        step = f" {progress.get('stage', '')} {progress.get('step', 0)}/{progress.get('total', 0)}" if progress else ""
        extra = job["results_dir"] or (job["error"] or {}).get("message") or ""
        resumable = " (resumable)" if job.get("resumable") else ""
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(job["created"]))
        click.echo(f"  {job['job_id']}  {job['state']}{resumable}{step}  {created}  {job['plate']}  {extra}")
