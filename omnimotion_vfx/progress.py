"""Progress reporting and cooperative stopping for long-running stages (flow, fit, export).

Library code talks to a `ProgressReporter`; the CLI picks a tqdm bar on stderr or JSON lines for farm
wrappers, the daemon forwards events to clients. A `StopToken` lets SIGTERM or a client's cancel reach a
running loop, which then checkpoints and raises `Interrupted`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, Callable, TextIO

from .errors import Interrupted


class StopToken:
    """Set from a signal handler or another thread; checked by loops at safe points."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str = "stop requested") -> None:
        self.reason = reason
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def raise_if_requested(self, what: str = "") -> None:
        """Raise `Interrupted` (exit code 3) once the caller has saved its state."""
        if self.requested:
            suffix = f" ({what})" if what else ""
            raise Interrupted(f"interrupted: {self.reason}{suffix}; run the same command again to resume")


class ProgressReporter:
    """Base reporter: tracks stage, step and ETA; subclasses decide where events go."""

    def __init__(self) -> None:
        self.stage = ""
        self.total = 0
        self.step = 0
        self._t0 = time.monotonic()

    def begin(self, stage: str, total: int) -> None:
        self.stage, self.total, self.step = stage, int(total), 0
        self._t0 = time.monotonic()
        self._emit(self._event())

    def update(self, step: int, **metrics: Any) -> None:
        self.step = int(step)
        self._emit(self._event(**metrics))

    def advance(self, n: int = 1, **metrics: Any) -> None:
        self.update(self.step + n, **metrics)

    def end(self) -> None:
        self.step = self.total
        self._emit(self._event(done=True))

    def warn(self, message: str) -> None:
        """A one-line warning the user should see (e.g. NaN pixels replaced in frames 1012-1014)."""
        print(f"omnivfx: warning: {message}", file=sys.stderr, flush=True)

    def eta_seconds(self) -> float | None:
        if self.step <= 0 or self.total <= 0:
            return None
        elapsed = time.monotonic() - self._t0
        return max(0.0, elapsed / self.step * (self.total - self.step))

    def _event(self, **metrics: Any) -> dict[str, Any]:
        eta = self.eta_seconds()
        event: dict[str, Any] = {
            "stage": self.stage,
            "step": self.step,
            "total": self.total,
            "eta": None if eta is None else round(eta, 1),
        }
        event.update({k: _plain(v) for k, v in metrics.items()})
        return event

    def _emit(self, event: dict[str, Any]) -> None:
        """Subclasses send the event somewhere; the base reporter drops it."""


class NullProgress(ProgressReporter):
    """Discards progress (library use, tests)."""


class JsonLinesProgress(ProgressReporter):
    """One JSON object per line (stage, step, total, eta, extra metrics) for farm wrappers."""

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.2) -> None:
        super().__init__()
        self._stream = stream or sys.stdout
        self._min_interval = min_interval
        self._last = 0.0

    def _emit(self, event: dict[str, Any]) -> None:
        now = time.monotonic()
        boundary = event["step"] in (0, event["total"]) or event.get("done")
        if not boundary and now - self._last < self._min_interval:
            return
        self._last = now
        self._stream.write(json.dumps(event) + "\n")
        self._stream.flush()


class CallbackProgress(ProgressReporter):
    """Forwards events to a callable (the daemon, Ray actors), throttled to `max_rate` per second."""

    def __init__(self, callback: Callable[[dict[str, Any]], None], max_rate: float = 4.0) -> None:
        super().__init__()
        self._callback = callback
        self._min_interval = 1.0 / max_rate
        self._last = 0.0

    def _emit(self, event: dict[str, Any]) -> None:
        now = time.monotonic()
        boundary = event["step"] in (0, event["total"]) or event.get("done")
        if boundary or now - self._last >= self._min_interval:
            self._last = now
            self._callback(event)


class TqdmProgress(ProgressReporter):
    """A progress bar per stage on stderr, for artists at a terminal."""

    def __init__(self) -> None:
        super().__init__()
        self._bar = None

    def begin(self, stage: str, total: int) -> None:
        from tqdm import tqdm

        self._close()
        self._bar = tqdm(total=total, desc=stage, file=sys.stderr, leave=True, dynamic_ncols=True)
        super().begin(stage, total)

    def _emit(self, event: dict[str, Any]) -> None:
        if self._bar is None:
            return
        self._bar.n = event["step"]
        metrics = {k: v for k, v in event.items() if k not in ("stage", "step", "total", "eta", "done")}
        if metrics:
            self._bar.set_postfix(metrics, refresh=False)
        self._bar.refresh()
        if event.get("done"):
            self._close()

    def warn(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(f"omnivfx: warning: {message}", file=sys.stderr)
        else:
            super().warn(message)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _plain(value: Any) -> Any:
    """Numpy/torch scalars to plain Python so events serialise as JSON and msgpack."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value
