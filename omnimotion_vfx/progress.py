"""Progress reporting and cooperative stopping for long-running stages (flow, fit, queries, export).

Library code talks to a `ProgressReporter`; every command gets its reporter from `for_terminal`: JSON lines for
farm wrappers when asked, a tqdm bar when stderr is a terminal, otherwise a few plain lines for logs. The daemon
forwards events to clients, whose display relays them into the same reporters. Each event carries the running
stage's ETA and the whole run's (`eta_total`, see progress_eta.py). A `StopToken` lets SIGTERM or a client's
cancel reach a running loop, which then checkpoints and raises `Interrupted`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, Callable, Sequence, TextIO

from .errors import Interrupted
from .progress_eta import TRACK_PLAN, OverallEta


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


Fraction = Callable[[float], None]
"""How a loop without a stage of its own (a tracker answering queries) says how much of its work is done, 0-1."""


def part_of(report: Fraction | None, start: float, end: float) -> Fraction | None:
    """A sub-step's own 0-1 fraction mapped onto [start, end] of the caller's."""
    if report is None:
        return None
    return lambda fraction: report(start + (end - start) * fraction)


class ProgressReporter:
    """Base reporter: tracks stage, step and ETA; subclasses decide where events go. `plan` names the stages
    the run will go through (progress_eta.py), for the overall ETA."""

    def __init__(self, plan: Sequence[str] = TRACK_PLAN) -> None:
        self.stage = ""
        self.total = 0
        self.step = 0
        self._t0 = time.monotonic()
        self._overall = OverallEta(plan)

    def begin(self, stage: str, total: int) -> None:
        self._overall.begin(stage)
        self._enter(stage, int(total))
        self._emit(self._event())

    def update(self, step: int, **metrics: Any) -> None:
        self.step = int(step)
        self._emit(self._event(**metrics))

    def advance(self, n: int = 1, **metrics: Any) -> None:
        self.update(self.step + n, **metrics)

    def end(self) -> None:
        self.step = self.total
        event = self._event(done=True)
        self._overall.end()
        self._emit(event)

    def relay(self, event: dict[str, Any]) -> None:
        """Show an event made by another reporter (the daemon's, for `omnivfx submit --watch`) as this one
        shows its own."""
        if event.get("stage") != self.stage:
            self._enter(str(event.get("stage", "")), int(event.get("total") or 0))
        self.step = int(event.get("step") or 0)
        self._emit(event)

    def warn(self, message: str) -> None:
        """A one-line warning the user should see (e.g. NaN pixels replaced in frames 1012-1014)."""
        print(f"omnivfx: warning: {message}", file=sys.stderr, flush=True)

    def eta_seconds(self) -> float | None:
        if self.step <= 0 or self.total <= 0:
            return None
        elapsed = time.monotonic() - self._t0
        return max(0.0, elapsed / self.step * (self.total - self.step))

    def eta_total_seconds(self) -> float | None:
        """Seconds until the run's last stage ends; None while that cannot be estimated honestly."""
        return self._overall.seconds_left(self.step, self.total, self.eta_seconds())

    def _enter(self, stage: str, total: int) -> None:
        """A new stage starts: subclasses open a bar or note the time."""
        self.stage, self.total, self.step = stage, total, 0
        self._t0 = time.monotonic()

    def _event(self, **metrics: Any) -> dict[str, Any]:
        eta, eta_total = self.eta_seconds(), self.eta_total_seconds()
        event: dict[str, Any] = {
            "stage": self.stage,
            "step": self.step,
            "total": self.total,
            "eta": None if eta is None else round(eta, 1),
            "eta_total": None if eta_total is None else round(eta_total, 1),
        }
        event.update({k: _plain(v) for k, v in metrics.items()})
        return event

    def _emit(self, event: dict[str, Any]) -> None:
        """Subclasses send the event somewhere; the base reporter drops it."""


class NullProgress(ProgressReporter):
    """Discards progress (library use, tests)."""


class JsonLinesProgress(ProgressReporter):
    """One JSON object per line (stage, step, total, eta, eta_total, extra metrics) for farm wrappers."""

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.2, plan: Sequence[str] = TRACK_PLAN) -> None:
        super().__init__(plan)
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

    def __init__(self, callback: Callable[[dict[str, Any]], None], max_rate: float = 4.0,
                 plan: Sequence[str] = TRACK_PLAN) -> None:
        super().__init__(plan)
        self._callback = callback
        self._min_interval = 1.0 / max_rate
        self._last = 0.0

    def _emit(self, event: dict[str, Any]) -> None:
        now = time.monotonic()
        boundary = event["step"] in (0, event["total"]) or event.get("done")
        if boundary or now - self._last >= self._min_interval:
            self._last = now
            self._callback(event)


_NOT_METRICS = ("stage", "step", "total", "eta", "eta_total", "done", "job_id", "state")


class TqdmProgress(ProgressReporter):
    """A progress bar per stage on stderr, for artists at a terminal."""

    def __init__(self, stream: TextIO | None = None, plan: Sequence[str] = TRACK_PLAN) -> None:
        super().__init__(plan)
        self._stream = stream or sys.stderr
        self._bar = None

    def _enter(self, stage: str, total: int) -> None:
        from tqdm import tqdm

        self._close()
        if stage:
            self._bar = tqdm(total=total, desc=stage, file=self._stream, leave=True, dynamic_ncols=True)
        super()._enter(stage, total)

    def _emit(self, event: dict[str, Any]) -> None:
        if self._bar is None:
            return
        self._bar.n = event["step"]
        metrics = {k: v for k, v in event.items() if k not in _NOT_METRICS}
        if event.get("eta_total") is not None:
            metrics["all stages"] = _duration(event["eta_total"])
        if metrics:
            self._bar.set_postfix(metrics, refresh=False)
        self._bar.refresh()
        if event.get("done"):
            self._close()

    def warn(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(f"omnivfx: warning: {message}", file=self._stream)
        else:
            super().warn(message)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class LogProgress(ProgressReporter):
    """For logs (stderr is a file or a pipe): a plain line when a stage starts and ends and at most one every
    `interval` seconds between, with step/total, elapsed time, the stage's ETA and the run's. No carriage
    returns, so a farm log of a whole run is a few dozen lines."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0, plan: Sequence[str] = TRACK_PLAN) -> None:
        super().__init__(plan)
        self._stream = stream or sys.stderr
        self._interval = interval
        self._last = 0.0
        self._started = time.monotonic()
        self._finished = False

    def _enter(self, stage: str, total: int) -> None:
        super()._enter(stage, total)
        self._started = self._last = time.monotonic()
        self._finished = False
        if stage:
            self._write(f"{stage}: started, {total} steps")

    def _emit(self, event: dict[str, Any]) -> None:
        now = time.monotonic()
        step, total = event.get("step", 0), event.get("total", 0)
        # the last step ends the stage too: relayed events (the client's) carry no "done"
        done = bool(event.get("done")) or 0 < total <= step
        if not event.get("stage") or self._finished or not (done or now - self._last >= self._interval):
            return
        self._last, self._finished = now, done
        parts = [f"{event['stage']}: {step}/{total}" + (f" ({100 * step // total}%)" if total else "")]
        if done:
            parts[0] = f"{event['stage']}: done, {total} steps in {_duration(now - self._started)}"
        else:
            parts.append(f"elapsed {_duration(now - self._started)}")
            if event.get("eta") is not None:
                parts.append(f"eta {_duration(event['eta'])}")
            if isinstance(event.get("loss"), (int, float)):
                parts.append(f"loss {event['loss']:.4g}")
        if event.get("eta_total") is not None and not (done and event["eta_total"] == 0):
            parts.append(f"all stages eta {_duration(event['eta_total'])}")
        self._write(", ".join(parts))

    def warn(self, message: str) -> None:
        self._write(f"warning: {message}")

    def _write(self, line: str) -> None:
        self._stream.write(f"omnivfx: {line}\n")
        self._stream.flush()


def for_terminal(json_progress: bool, stream: TextIO | None = None, plan: Sequence[str] = TRACK_PLAN) -> ProgressReporter:
    """The reporter every command uses: JSON lines on stdout when asked (`--json-progress`), a bar when `stream`
    (stderr by default) is a terminal, otherwise `LogProgress` lines. `plan`: the command's stages
    (progress_eta.py), for the overall ETA."""
    stream = stream or sys.stderr
    if json_progress:
        return JsonLinesProgress(sys.stdout, plan=plan)
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return TqdmProgress(stream, plan=plan)
    return LogProgress(stream, plan=plan)


def _duration(seconds: float) -> str:
    """12s, 4m05s, 1h02m: short enough for a log line."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _plain(value: Any) -> Any:
    """Numpy/torch scalars to plain Python so events serialise as JSON and msgpack."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value
