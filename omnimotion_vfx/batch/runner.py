"""The batch driver: one Ray task per shot, progress relayed from the hub, one report per shot at the end.

Ray does the scheduling, the placement on GPUs/CPUs and the retries; this module only submits, listens and
sums up. A stop (SIGINT/SIGTERM on the driver) goes to every running shot through the hub, so each one
checkpoints and ends as `interrupted`; shots still queued start, see the stop and end at once.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Callable

from ..progress import StopToken
from .cluster import ShotResources, import_ray, task_options
from .progress_hub import shared_hub
from .shot_list import Shot
from .shot_task import ShotOutcome, one_line, track_shot

POLL_SECONDS = 0.25

BatchEvent = dict[str, Any]
EventSink = Callable[[BatchEvent], None]


@dataclass
class ShotReport:
    """A row of the summary table."""

    shot: str
    status: str  # done | skipped | retried (done after retries) | failed | interrupted
    seconds: float | None
    message: str = ""
    folder: str = ""
    attempts: int = 0
    input_error: bool = False  # failed on bad input (not retried; exit code 2)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_batch(
    shots: list[Shot],
    resources: ShotResources | None = None,
    on_event: EventSink | None = None,
    stop: StopToken | None = None,
) -> list[ShotReport]:
    """Track every shot on the connected Ray cluster (see cluster.ray_session); reports in shot-list order."""
    ray = import_ray()
    emit = on_event or (lambda event: None)
    options, note = task_options(resources or ShotResources())
    if note:
        emit({"type": "note", "message": note})
    hub, run = shared_hub(), uuid.uuid4().hex
    ray.get(hub.open_run.remote(run))
    task = ray.remote(track_shot)
    tracker = _ShotTracker(shots, emit)
    refs = {
        task.options(name=f"omnivfx {shot.name}", **options).remote(shot.name, shot.job.to_dict(), hub, run): shot
        for shot in shots
    }
    pending = list(refs)
    stop_sent = False
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_SECONDS)
            tracker.take(ray.get(hub.drain.remote(run)))
            for ref in ready:
                tracker.finish(refs[ref].name, *_collect(ray, ref, hub, run, refs[ref].name))
            if stop is not None and stop.requested and not stop_sent:
                hub.request_stop.remote(run, stop.reason)
                stop_sent = True
        tracker.take(ray.get(hub.drain.remote(run)))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        hub.close_run.remote(run)
    return [tracker.reports[shot.name] for shot in shots]


def _collect(ray: Any, ref: Any, hub: Any, run: str, shot: str) -> tuple[ShotOutcome | None, str]:
    """The task's outcome, or None and a one-line reason when Ray gave up on it."""
    try:
        return ray.get(ref), ""
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        return None, one_line(cause) if cause is not None else str(exc).splitlines()[0]
    except ray.exceptions.RayError as exc:
        attempts = ray.get(hub.attempts.remote(run, shot))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"worker lost on attempt {attempts} ({type(exc).__name__}: {first[:160]}); see the Ray worker logs"


class _ShotTracker:
    """Turns hub events and task results into user events and ShotReports; measures seconds on one clock."""

    def __init__(self, shots: list[Shot], emit: EventSink) -> None:
        self._emit = emit
        self._total = len(shots)
        self._started: dict[str, float] = {}
        self._attempts: dict[str, int] = {}
        self._failures: dict[str, list[str]] = {shot.name: [] for shot in shots}
        self.reports: dict[str, ShotReport] = {}

    def take(self, events: list[BatchEvent]) -> None:
        for event in events:
            shot, attempt = event["shot"], event.get("attempt", 1)
            if event["type"] == "start":
                self._started.setdefault(shot, time.monotonic())
                previous = self._attempts.get(shot, 0)
                if previous and len(self._failures[shot]) < previous:
                    self._failures[shot].append(f"attempt {previous}: worker lost")
                self._attempts[shot] = attempt
            elif event["type"] == "attempt-failed":
                self._failures[shot].append(f"attempt {attempt}: {event['message']}")
            self._emit(event)

    def finish(self, shot: str, outcome: ShotOutcome | None, failure: str) -> None:
        started = self._started.get(shot)
        seconds = None if started is None else round(time.monotonic() - started, 2)
        attempts = self._attempts.get(shot, 0)
        history = "; ".join(self._failures[shot])
        if outcome is None:
            tries = f" (after {attempts} attempts)" if attempts > 1 else ""
            report = ShotReport(shot, "failed", seconds, failure + tries, "", attempts)
        elif outcome.status in ("done", "skipped"):
            status = "retried" if outcome.status == "done" and outcome.attempt > 1 else outcome.status
            message = f"done on attempt {outcome.attempt} after {history}" if status == "retried" else outcome.message
            report = ShotReport(shot, status, seconds, message, outcome.folder, outcome.attempt)
        elif outcome.status == "input-error":
            report = ShotReport(shot, "failed", seconds, outcome.message, "", outcome.attempt, input_error=True)
        else:
            report = ShotReport(shot, "interrupted", seconds, outcome.message, "", outcome.attempt)
        self.reports[shot] = report
        self._emit(dict(report.to_dict(), type="shot"))
        self._emit({"type": "batch", "finished": len(self.reports), "total": self._total})


def batch_exit_code(reports: list[ShotReport]) -> int:
    """0 all done/skipped/retried; 1 a shot failed for another reason than bad input; 2 only bad-input
    failures; 3 nothing failed but some shots were interrupted (run the batch again to resume)."""
    failed = [r for r in reports if r.status == "failed"]
    if any(not r.input_error for r in failed):
        return 1
    if failed:
        return 2
    if any(r.status == "interrupted" for r in reports):
        return 3
    return 0
