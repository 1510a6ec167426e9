"""One job on the Ray cluster instead of in this process: the daemon's hand-off to the farm.

`submit_to_ray` has the shape of `run_track_job` (job in, results folder out, blocking, progress and a stop
token), so `omnivfx serve --ray-address ...` can call it in place of the local engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import InputError, Interrupted, OmnivfxError
from ..progress import StopToken
from ..tracking.job import TrackJob
from .cluster import ShotResources, connect
from .runner import BatchEvent, run_batch
from .shot_list import Shot

ProgressCallback = Callable[[dict[str, Any]], None]
_ROUTING_KEYS = ("type", "shot", "attempt")


def submit_to_ray(
    job: TrackJob,
    progress_callback: ProgressCallback | None = None,
    stop: StopToken | None = None,
    *,
    address: str | None = None,
    resources: ShotResources | None = None,
    name: str | None = None,
) -> Path:
    """Run `job` as a Ray task and return its results folder; blocks until the shot ends.

    Joins the cluster at `address` unless this process is already connected (or starts a local Ray when both
    are absent; it stays up for the next call). `progress_callback` gets the ProgressReporter events of the
    shot (stage, step, total, eta, ...) and {"warning": message}. A finished shot with the same settings is
    not recomputed. Raises InputError (bad input), Interrupted (stopped; the engine checkpointed) or
    OmnivfxError (failed on every attempt), like the local engine would.
    """
    connect(address)
    relay = _relay(progress_callback)
    [report] = run_batch([Shot(name or job.plate, job)], resources, relay, stop)
    if report.status in ("done", "skipped", "retried"):
        return Path(report.folder)
    if report.status == "interrupted":
        raise Interrupted(report.message)
    if report.input_error:
        raise InputError(report.message)
    raise OmnivfxError(f"the shot failed on the Ray cluster: {report.message}")


def _relay(callback: ProgressCallback | None) -> Callable[[BatchEvent], None]:
    def relay(event: BatchEvent) -> None:
        if callback is None:
            return
        if event["type"] == "progress":
            callback({k: v for k, v in event.items() if k not in _ROUTING_KEYS})
        elif event["type"] in ("warning", "note"):
            callback({"warning": event["message"]})

    return relay
