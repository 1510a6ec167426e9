"""Tracking runs off Blender's main thread: a worker thread talks to the daemon, a timer applies what it hears.

Blender data may only be touched on the main thread, so the worker only puts events on a queue; `drain` (run by
bpy.app.timers every 0.2 s while a run is live) takes them off, updates the panel and the status bar, and writes
the tracks when the result arrives. One run per clip; the last message of a clip stays for the panel.
"""

from __future__ import annotations

import queue
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import bpy

from .vendor.omnimotion_vfx.client import (FALLBACK_TRACKERS, Client, DaemonError, DaemonUnavailable, Progress, Result,
                                           tracker_menu)

DRAIN_INTERVAL = 0.2
PROBE_TIMEOUT = 1.0


def not_running_message(endpoint: str) -> str:
    return f"No omnivfx daemon at {endpoint}: start it with `omnivfx serve --bind {endpoint}` (or check the CURVE keys)"


@dataclass
class TrackRun:
    """One submitted job: what to send, what to do with the result, and what the panel shows meanwhile."""

    clip_name: str
    endpoint: str
    submit_args: dict[str, Any]
    on_result: Callable[[Result], str]  # runs on the main thread; returns the panel's summary line
    client_args: dict[str, Any] = field(default_factory=dict)  # e.g. curve_keys
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    events: "queue.Queue[tuple[str, Any]]" = field(default_factory=queue.Queue)
    stage: str = "connecting"
    fraction: float = 0.0
    finished: bool = False
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._work, name=f"omnivfx-{self.job_id[:8]}", daemon=True).start()

    def _work(self) -> None:
        """Worker thread: no bpy here, only the client and the queue."""
        try:
            self._track()
        finally:
            self.done.set()

    def _track(self) -> None:
        try:
            with Client(self.endpoint, timeout=PROBE_TIMEOUT, retries=0, **self.client_args) as probe:
                probe.status()  # a quick answer when the daemon is down, before the patient client below
            with Client(self.endpoint, **self.client_args) as client:
                client.submit(job_id=self.job_id, **self.submit_args)
                threading.Thread(target=self._watch_cancel, name="omnivfx-cancel", daemon=True).start()
                result = client.wait(self.job_id, on_progress=lambda p: self.events.put(("progress", p)))
            self.events.put(("result", result))
        except DaemonError as exc:
            text = "Cancelled (the daemon can resume it)" if exc.code == "cancelled" else f"Daemon error ({exc.code}): {exc}"
            self.events.put(("error", text))
        except DaemonUnavailable:
            self.events.put(("error", not_running_message(self.endpoint)))
        except Exception as exc:  # the thread must always report back, or the panel would wait forever
            self.events.put(("error", f"{type(exc).__name__}: {exc}"))

    def cancel(self) -> None:
        """Main thread: ask for the job to stop; the worker's stream then ends with `cancelled`."""
        self.stage = "cancelling"
        self.cancel_requested.set()

    def _watch_cancel(self) -> None:
        """Own thread and client, started once the daemon knows the job: sends the cancel when asked."""
        while not self.done.is_set():
            if self.cancel_requested.wait(0.1):
                try:
                    with Client(self.endpoint, timeout=PROBE_TIMEOUT, retries=1, **self.client_args) as client:
                        client.cancel(self.job_id)
                except (DaemonError, DaemonUnavailable) as exc:
                    self.events.put(("note", f"Cancel failed: {exc}"))
                return


RUNS: dict[str, TrackRun] = {}
MESSAGES: dict[str, str] = {}


def start(run: TrackRun) -> None:
    RUNS[run.clip_name] = run
    MESSAGES[run.clip_name] = "Connecting to the daemon..."
    run.start()
    if not bpy.app.timers.is_registered(drain):
        bpy.app.timers.register(drain, first_interval=DRAIN_INTERVAL)


def drain() -> float | None:
    """Main thread: apply queued events of every run; returns the next interval, or None when all are done."""
    for name, run in list(RUNS.items()):
        while not run.finished:
            try:
                kind, payload = run.events.get_nowait()
            except queue.Empty:
                break
            _handle(run, kind, payload)
        if run.finished:
            del RUNS[name]
    _show_status()
    return DRAIN_INTERVAL if RUNS else None


def _handle(run: TrackRun, kind: str, payload: Any) -> None:
    if kind == "note":  # e.g. a failed cancel: the job goes on, the panel says so
        MESSAGES[run.clip_name] = payload
        return
    if kind == "progress":
        progress: Progress = payload
        run.stage = "cancelling" if run.cancel_requested.is_set() else progress.stage or progress.state
        run.fraction = progress.step / progress.total if progress.total else 0.0
        eta = f", {progress.eta:.0f} s left" if progress.eta else ""
        MESSAGES[run.clip_name] = f"{run.stage} {progress.step}/{progress.total}{eta}" if progress.total else run.stage
        return
    run.finished = True
    if kind == "error":
        MESSAGES[run.clip_name] = payload
        return
    try:
        MESSAGES[run.clip_name] = run.on_result(payload)
    except (ValueError, RuntimeError, KeyError) as exc:
        MESSAGES[run.clip_name] = f"Could not write the tracks: {exc}"


def _show_status() -> None:
    """Status bar text of every window, and a redraw of the Clip Editors so the panel follows."""
    live = [f"OmniVFX {run.clip_name}: {run.stage} {run.fraction:.0%}" for run in RUNS.values()]
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        window.workspace.status_text_set(" | ".join(live) if live else None)
        for area in window.screen.areas:
            if area.type == "CLIP_EDITOR":
                area.tag_redraw()


def view(clip_name: str) -> tuple[TrackRun | None, str]:
    """What the panel shows for a clip: its live run (if any) and the latest message."""
    return RUNS.get(clip_name), MESSAGES.get(clip_name, "")


DAEMON_STATUS: dict[str, str] = {}
TRACKER_MENUS: dict[str, tuple[dict[str, Any], str | None]] = {}  # endpoint -> (trackers, why built in)


def tracker_menu_for(endpoint: str) -> tuple[dict[str, Any], str | None]:
    """The trackers and presets the panel offers for `endpoint`: the daemon's once checked, else the built-in list."""
    return TRACKER_MENUS.get(endpoint, (FALLBACK_TRACKERS, "press the refresh button to ask the daemon"))


def probe(endpoint: str, client_args: dict[str, Any]) -> None:
    """Ask the daemon for its trackers and presets, then its status, off the main thread; the panel shows
    DAEMON_STATUS[endpoint] and offers TRACKER_MENUS[endpoint]."""
    def ask() -> None:
        TRACKER_MENUS[endpoint] = tracker_menu(endpoint, PROBE_TIMEOUT, **client_args)
        try:
            with Client(endpoint, timeout=PROBE_TIMEOUT, retries=0, **client_args) as client:
                status = client.status()
            running = len(status.get("running") or [])
            DAEMON_STATUS[endpoint] = f"Daemon {status.get('version', '?')}: {running} running, {status.get('queue_length', 0)} queued"
        except (DaemonError, DaemonUnavailable):
            DAEMON_STATUS[endpoint] = not_running_message(endpoint)
    DAEMON_STATUS[endpoint] = "Checking..."
    threading.Thread(target=ask, name="omnivfx-status", daemon=True).start()
