"""A small Ray actor between the shot workers and the driver: progress in, stop requests out.

Workers send events fire-and-forget (they never wait on the driver); the driver drains them in order a few
times a second. The hub also counts attempts per shot, which is how the driver knows a shot was retried after
its worker died (a dead worker cannot say so itself), and carries the driver's stop request to the workers.

One hub serves every run of a driver process (each `run_batch` and `submit_to_ray` call is a separate
channel), because starting an actor costs a worker process start (seconds) per call otherwise.
"""

from __future__ import annotations

import threading
from typing import Any

import ray


@ray.remote(num_cpus=0, max_restarts=0)
class ProgressHub:
    def __init__(self) -> None:
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._attempts: dict[tuple[str, str], int] = {}
        self._stop_reasons: dict[str, str] = {}

    def open_run(self, run: str) -> None:
        self._events[run] = []

    def close_run(self, run: str) -> None:
        self._events.pop(run, None)
        self._stop_reasons.pop(run, None)
        for key in [key for key in self._attempts if key[0] == run]:
            del self._attempts[key]

    def begin_attempt(self, run: str, shot: str) -> int:
        """Called by a worker as a shot (re)starts; returns the attempt number, 1 for the first."""
        attempt = self._attempts.get((run, shot), 0) + 1
        self._attempts[(run, shot)] = attempt
        self.report(run, {"type": "start", "shot": shot, "attempt": attempt})
        return attempt

    def report(self, run: str, event: dict[str, Any]) -> None:
        if run in self._events:  # late events of a closed run are dropped
            self._events[run].append(event)

    def drain(self, run: str) -> list[dict[str, Any]]:
        events = self._events.get(run, [])
        if run in self._events:
            self._events[run] = []
        return events

    def attempts(self, run: str, shot: str) -> int:
        return self._attempts.get((run, shot), 0)

    def request_stop(self, run: str, reason: str) -> None:
        self._stop_reasons[run] = reason or "stop requested"

    def stop_reason(self, run: str) -> str:
        """Empty while the run should go on; polled by every running shot."""
        return self._stop_reasons.get(run, "")


_lock = threading.Lock()
_hub: tuple[Any, Any] | None = None  # (Ray job id, actor handle)


def shared_hub() -> Any:
    """This driver's hub, created on first use in the current Ray connection (threads share it)."""
    global _hub
    job_id = ray.get_runtime_context().get_job_id()
    with _lock:
        if _hub is None or _hub[0] != job_id:
            _hub = (job_id, ProgressHub.remote())
        return _hub[1]
