"""Where the daemon's jobs run: in this process (`LocalEngine`) or on a Ray cluster (`RayEngine`).

`omnivfx serve` picks one engine at start-up (`--ray-address`) and the `JobRunner` calls it the same way for
every job, so the server, the queue, cancel and the protocol do not know which one it is. Both engines leave the
same results folder behind (with RESULTS/export when the job names `export` formats) and report the same
progress events; only the local one keeps the fitted plate in memory. Extra queries on a plate fitted elsewhere
are answered by reloading that folder's fit in the runner (`load_fitted`, never a refit; see docs/daemon.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ..progress import CallbackProgress, StopToken
from ..results.folder import TrackResults, load_results
from ..job_runner import track_and_export
from ..tracking.job import FittedJob, TrackJob

log = logging.getLogger("omnivfx.daemon")
PROGRESS_RATE = 4.0  # messages per second per job: enough for a bar, cheap for the loop

ProgressSink = Callable[[dict[str, Any]], None]


@dataclass
class FinishedJob:
    """A job's results as the client gets them, its folder, and the fitted plate when it lives in this process."""

    results: TrackResults
    folder: str
    fitted: FittedJob | None


class JobEngine(Protocol):
    """Runs one job to its results folder; raises InputError / Interrupted like `run_track_job`."""

    description: str

    def run(self, job_id: str, job: TrackJob, on_progress: ProgressSink, stop: StopToken) -> FinishedJob: ...

    def close(self) -> None: ...


class LocalEngine:
    """Fit in a daemon worker thread (the engine stays warm in this process; the fitted plate is kept)."""

    description = "local"

    def run(self, job_id: str, job: TrackJob, on_progress: ProgressSink, stop: StopToken) -> FinishedJob:
        # The track, its export and the flow cache's removal, as `omnivfx track`; the fitted plate stays in memory.
        tracked = track_and_export(job, CallbackProgress(on_progress, PROGRESS_RATE), stop)
        return FinishedJob(tracked.results, str(tracked.folder), tracked.fitted)

    def close(self) -> None:
        pass


class RayEngine:
    """Hand each job to a Ray cluster as one task (`submit_to_ray`); the daemon only relays and loads results.

    Connects at construction so that a wrong --ray-address or an impossible resource request stops
    `omnivfx serve` at start-up rather than failing every job later.
    """

    def __init__(self, address: str, gpus: float = 1.0, cpus: float = 1.0) -> None:
        from ..batch.cluster import ShotResources, connect, import_ray, task_options

        self._ray = import_ray()
        self.address = address
        self.resources = ShotResources(gpus=gpus, cpus=cpus)
        self._owns_connection = connect(address)
        try:
            options, note = task_options(self.resources)
        except BaseException:
            self.close()
            raise
        if note:
            log.warning("%s", note)
        self.description = f"ray {address} (gpus {options['num_gpus']:g}, cpus {options['num_cpus']:g} per job)"

    def run(self, job_id: str, job: TrackJob, on_progress: ProgressSink, stop: StopToken) -> FinishedJob:
        from ..batch.submit import submit_to_ray

        def relay(event: dict[str, Any]) -> None:
            # The local engine logs warnings in the daemon and sends only progress; keep the wire the same.
            if "warning" in event:
                log.warning("job %s: %s", job_id, event["warning"])
            else:
                on_progress(event)

        folder = submit_to_ray(job, relay, stop, address=self.address, resources=self.resources, name=f"daemon-{job_id}")
        return FinishedJob(load_results(folder), str(folder), None)

    def close(self) -> None:
        if self._owns_connection and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_connection = False


def make_engine(ray_address: str | None, gpus_per_job: float = 1.0, cpus_per_job: float = 1.0) -> JobEngine:
    """The engine `omnivfx serve` was started with: Ray when an address is given, else this process."""
    if ray_address:
        return RayEngine(ray_address, gpus_per_job, cpus_per_job)
    return LocalEngine()
