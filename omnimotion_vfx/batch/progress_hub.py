"""A small Ray actor between the shot workers and the driver: progress in, stop requests out.

Workers send events fire-and-forget (they never wait on the driver); the driver drains them in order a few
times a second. The hub also counts attempts per shot, which is how the driver knows a shot was retried after
its worker died (a dead worker cannot say so itself), and carries the driver's stop request to the workers.
"""

from __future__ import annotations

from typing import Any

import ray


@ray.remote(num_cpus=0, max_restarts=0)
class ProgressHub:
    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._attempts: dict[str, int] = {}
        self._stop_reason = ""

    def begin_attempt(self, shot: str) -> int:
        """Called by a worker as a shot (re)starts; returns the attempt number, 1 for the first."""
        attempt = self._attempts.get(shot, 0) + 1
        self._attempts[shot] = attempt
        self._events.append({"type": "start", "shot": shot, "attempt": attempt})
        return attempt

    def report(self, event: dict[str, Any]) -> None:
        self._events.append(event)

    def drain(self) -> list[dict[str, Any]]:
        events, self._events = self._events, []
        return events

    def attempts(self, shot: str) -> int:
        return self._attempts.get(shot, 0)

    def request_stop(self, reason: str) -> None:
        self._stop_reason = reason or "stop requested"

    def stop_reason(self) -> str:
        """Empty while the batch should go on; polled by every running shot."""
        return self._stop_reason
