"""`omnivfx serve`: run the tracking daemon in the foreground until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from omnimotion_vfx.daemon.protocol import DEFAULT_ENDPOINT
from omnimotion_vfx.errors import InputError

from .errors import handle_errors

EPILOG = """\b
Examples:
  omnivfx serve
  omnivfx serve --bind ipc:///tmp/omnivfx.sock --jobs-dir /scratch/omnivfx-jobs
  omnivfx serve --bind tcp://0.0.0.0:5571 --allow-remote --curve-keys ~/.omnivfx/keys
  omnivfx serve --ray-address auto --workers 16 --gpus-per-job 0.5 --jobs-dir /shared/omnivfx-jobs
SIGTERM or Ctrl-C: running jobs checkpoint, the daemon exits 0; a restart lists them as resumable."""


@click.command(epilog=EPILOG)
@click.option("--bind", default=DEFAULT_ENDPOINT, show_default=True, help="ZeroMQ endpoint: tcp://HOST:PORT or ipc://PATH.")
@click.option("--jobs-dir", type=click.Path(file_okay=False), default=str(Path.home() / ".omnivfx" / "jobs"), show_default=True,
              help="Where job state (one JSON per job) and inline plates live; survives restarts.")
@click.option("--curve-keys", type=click.Path(file_okay=False, exists=True), help="Encrypt and allow only listed clients (see `omnivfx keys`).")
@click.option("--allow-remote", is_flag=True, help="Permit binding interfaces other than loopback.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Jobs run at the same time.")
@click.option("--keep-fitted", type=click.IntRange(0, 1000), default=2, show_default=True, help="Fitted plates kept in memory for more queries.")
@click.option("--max-message-mb", type=click.IntRange(1, 1 << 20), default=2048, show_default=True, help="Largest message accepted.")
@click.option("--heartbeat", type=click.FloatRange(0.05, 60), default=1.0, show_default=True, help="Seconds between heartbeats to watchers.")
@click.option("--ray-address", help="Run jobs on this Ray cluster ('auto' or HOST:PORT) instead of in this process; "
              "--workers jobs are on the cluster at once. Plates, --jobs-dir and results must be on shared storage.")
@click.option("--gpus-per-job", type=click.FloatRange(0, 64),
              help="With --ray-address: GPUs each job asks for (default 1; fractional to share a card; CPU workers when the cluster has none).")
@click.option("--cpus-per-job", type=click.FloatRange(0.01, 1024),
              help="With --ray-address: CPUs each job asks for (default 1).")
@click.option("--verbose", "-v", is_flag=True, help="Log every request.")
@handle_errors
def serve(bind, jobs_dir, curve_keys, allow_remote, workers, keep_fitted, max_message_mb, heartbeat, ray_address,
          gpus_per_job, cpus_per_job, verbose):
    """Serve tracking jobs to host bridges and `omnivfx submit` over ZeroMQ."""
    from omnimotion_vfx.daemon.server import Daemon, DaemonConfig
    from omnimotion_vfx.engine_available import require_engine

    require_engine("serve")  # jobs, and queries on jobs fitted on a Ray cluster, run the engine in this process

    if not ray_address and (gpus_per_job is not None or cpus_per_job is not None):
        raise InputError("--gpus-per-job and --cpus-per-job size Ray tasks; add --ray-address auto|HOST:PORT or leave them out")
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="omnivfx serve: %(message)s")
    config = DaemonConfig(
        bind=bind, jobs_dir=Path(jobs_dir), workers=workers, keep_fitted=keep_fitted,
        max_message_bytes=max_message_mb << 20, heartbeat_interval=heartbeat,
        curve_keys=Path(curve_keys) if curve_keys else None, allow_remote=allow_remote,
        ray_address=ray_address, gpus_per_job=1.0 if gpus_per_job is None else gpus_per_job,
        cpus_per_job=1.0 if cpus_per_job is None else cpus_per_job,
    )
    daemon = Daemon(config)
    stop = threading.Event()

    def request_stop(signum, frame):  # noqa: ARG001
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    daemon.run(stop)
