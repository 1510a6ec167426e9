"""Where batch events go: JSON lines for farm wrappers, tqdm bars (overall + one per running shot) at a terminal,
or a few plain lines per shot in a log (`stderr_view` picks, as `progress.for_terminal` does for one shot)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from .runner import BatchEvent

SHOT_BAR = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}"  # no rate: events arrive in bursts


def notice_line(event: BatchEvent) -> str | None:
    """The line a retry, warning, failed attempt or note prints, the same in a terminal and in a log."""
    kind = event["type"]
    if kind == "start" and event["attempt"] > 1:
        return f"{event['shot']}: retrying (attempt {event['attempt']})"
    if kind in ("warning", "attempt-failed", "note"):
        prefix = f"{event['shot']}: " if "shot" in event else ""
        return f"omnivfx: {prefix}{event['message']}"
    return None


class JsonLinesBatchView:
    """One JSON object per event and line; every object has a "type": start, progress, warning,
    attempt-failed, shot (a finished shot's report), batch (overall count) or note."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout

    def __call__(self, event: BatchEvent) -> None:
        self._stream.write(json.dumps(event) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Nothing to release; present so both views are used the same way."""


class TerminalBatchView:
    """An overall bar of finished shots and a bar per running shot on stderr; finished shots print a line."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._stream = stream or sys.stderr
        self._overall = tqdm(total=total, desc="shots", unit="shot", file=self._stream, position=0, dynamic_ncols=True)
        self._bars: dict[str, tuple[Any, int]] = {}  # shot -> (bar, terminal row)
        self._free_rows: list[int] = []
        self._next_row = 1

    def __call__(self, event: BatchEvent) -> None:
        kind = event["type"]
        if kind == "progress":
            bar = self._bar(event["shot"])
            bar.set_description(f"{event['shot']} {event['stage']}", refresh=False)
            bar.total = event["total"]
            bar.n = event["step"]
            bar.refresh()
        elif (line := notice_line(event)) is not None:
            self._write(line)
        elif kind == "shot":
            self._release(event["shot"])
            detail = f" - {event['message']}" if event["message"] and event["status"] != "done" else ""
            self._write(f"{event['shot']}: {event['status']}{detail}")
            self._overall.update(1)

    def close(self) -> None:
        for shot in list(self._bars):
            self._release(shot)
        self._overall.close()

    def _bar(self, shot: str) -> Any:
        if shot not in self._bars:
            row = self._free_rows.pop(0) if self._free_rows else self._next_row
            self._next_row = max(self._next_row, row + 1)
            bar = self._tqdm(total=0, desc=shot, file=self._stream, position=row, leave=False, dynamic_ncols=True,
                             bar_format=SHOT_BAR)
            self._bars[shot] = (bar, row)
        return self._bars[shot][0]

    def _release(self, shot: str) -> None:
        if shot in self._bars:
            bar, row = self._bars.pop(shot)
            self._free_rows.append(row)
            self._free_rows.sort()
            bar.close()

    def _write(self, line: str) -> None:
        self._tqdm.write(line, file=self._stream)


class LogBatchView:
    """For logs (stderr not a terminal): per shot, a line when a stage starts and ends and at most one every
    `interval` seconds between; finished shots, retries and warnings as the terminal view prints them."""

    def __init__(self, total: int, stream: TextIO | None = None, interval: float = 30.0) -> None:
        self._stream = stream or sys.stderr
        self._total = total
        self._finished = 0
        self._interval = interval
        self._shots: dict[str, tuple[str, float, bool]] = {}  # shot -> (stage, time of its last line, stage ended)

    def __call__(self, event: BatchEvent) -> None:
        kind = event["type"]
        if kind == "progress":
            self._progress(event)
        elif (line := notice_line(event)) is not None:
            self._write(line)
        elif kind == "shot":
            self._shots.pop(event["shot"], None)
            self._finished += 1
            detail = f" - {event['message']}" if event["message"] and event["status"] != "done" else ""
            self._write(f"{event['shot']}: {event['status']}{detail} ({self._finished}/{self._total} shots)")

    def close(self) -> None:
        """Nothing to release; present so every view is used the same way."""

    def _progress(self, event: BatchEvent) -> None:
        shot, stage, step, total = event["shot"], event["stage"], event["step"], event["total"]
        now = time.monotonic()
        last_stage, last_time, ended = self._shots.get(shot, ("", 0.0, False))
        if stage != last_stage:
            self._shots[shot] = (stage, now, False)
            self._write(f"{shot}: {stage}: started, {total} steps")
            return
        done = bool(event.get("done")) or 0 < total <= step
        if ended or not (done or now - last_time >= self._interval):
            return
        self._shots[shot] = (stage, now, done)
        line = f"{shot}: {stage}: " + ("done" if done else f"{step}/{total}")
        if not done and event.get("eta") is not None:
            line += f", eta {event['eta']:.0f}s"
        if event.get("eta_total") is not None and not (done and event["eta_total"] == 0):
            line += f", all stages eta {event['eta_total']:.0f}s"
        self._write(line)

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()


def stderr_view(total: int, stream: TextIO | None = None) -> "TerminalBatchView | LogBatchView":
    """Bars when `stream` (stderr by default) is a terminal, else log lines (JSON lines are asked for apart)."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return TerminalBatchView(total, stream) if isatty is not None and isatty() else LogBatchView(total, stream)
