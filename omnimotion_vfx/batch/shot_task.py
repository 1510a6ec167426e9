"""What runs on a Ray worker for one shot: skip if finished (exporting it if its export folder is missing), else run
the job with its export, relaying progress and stops.

Expected outcomes (done, skipped, bad input, interrupted) are returned as a plain dict so Ray does not retry
them; anything else is raised so Ray retries the task (`retry_exceptions`), exactly as it retries a task
whose worker process died. A retry runs the same job again, so an engine that checkpoints into
`<results>/work` resumes where the lost attempt stopped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from ..errors import InputError, Interrupted
from ..progress import CallbackProgress, StopToken
from ..exporters.folder_export import check_track_export, export_folder
from ..job_runner import run_track_job
from ..tracking.job import TrackJob
from .completion import finished_results

STOP_POLL_SECONDS = 0.5


@dataclass
class ShotOutcome:
    """The worker's answer for a shot that ended in an expected way."""

    status: str  # "done" | "skipped" | "input-error" | "interrupted"
    folder: str = ""
    message: str = ""
    attempt: int = 1


class _HubProgress(CallbackProgress):
    """Progress events and warnings of one shot attempt, sent to the hub without waiting."""

    def __init__(self, hub: Any, run: str, shot: str, attempt: int) -> None:
        super().__init__(self._send)
        self._hub, self._run, self._shot, self._attempt = hub, run, shot, attempt

    def _send(self, event: dict[str, Any]) -> None:
        self._hub.report.remote(self._run, dict(event, type="progress", shot=self._shot, attempt=self._attempt))

    def warn(self, message: str) -> None:
        event = {"type": "warning", "shot": self._shot, "attempt": self._attempt, "message": message}
        self._hub.report.remote(self._run, event)


def _relay_stop(hub: Any, run: str, token: StopToken, finished: threading.Event) -> None:
    """Poll the hub and set the local StopToken, which the tracker checks at its safe points."""
    while not finished.wait(STOP_POLL_SECONDS):
        try:
            reason = ray.get(hub.stop_reason.remote(run))
        except ray.exceptions.RayError:  # the driver went away: stop and checkpoint rather than run orphaned
            reason = "the batch driver is gone"
        if reason:
            token.request(reason)
            return


def track_shot(shot: str, job_data: dict[str, Any], hub: Any, run: str) -> ShotOutcome:
    """Run one shot of `run` on this worker; see the module docstring for what is returned and raised."""
    attempt = ray.get(hub.begin_attempt.remote(run, shot))
    job = TrackJob.from_dict(job_data, source=f"shot {shot!r}")
    token, finished = StopToken(), threading.Event()
    reason = ray.get(hub.stop_reason.remote(run))  # a shot still queued when the batch was stopped ends at once
    if reason:
        token.request(reason)
    relay = threading.Thread(target=_relay_stop, args=(hub, run, token, finished), daemon=True)
    relay.start()
    try:
        token.raise_if_requested("before the shot started")
        if job.export:
            check_track_export(job.export)  # before the long track
        done = finished_results(job)
        progress = _HubProgress(hub, run, shot, attempt)
        if done is not None:
            if job.export and not _has_files(done / "export"):  # asked after the track: reloads the fit, never refits
                export_folder(done, job.export, progress, token)
                return ShotOutcome("skipped", str(done), "finished earlier with the same settings; exported now", attempt)
            return ShotOutcome("skipped", str(done), "finished earlier with the same settings", attempt)
        folder = run_track_job(job, progress, token)  # with the job's `export`, as `omnivfx track --export`
        return ShotOutcome("done", str(folder), "", attempt)
    except InputError as exc:
        return ShotOutcome("input-error", "", str(exc), attempt)
    except Interrupted as exc:
        return ShotOutcome("interrupted", "", str(exc), attempt)
    except Exception as exc:
        hub.report.remote(run, {"type": "attempt-failed", "shot": shot, "attempt": attempt, "message": one_line(exc)})
        raise
    finally:
        finished.set()


def _has_files(folder: Path) -> bool:
    """An export folder counts as written once it holds anything (a batch never removes one)."""
    return folder.is_dir() and any(folder.iterdir())


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
