"""SIGINT/SIGTERM request a stop instead of killing the process, so running work checkpoints first."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

from omnimotion_vfx.progress import StopToken


@contextmanager
def stop_on_signals() -> Iterator[StopToken]:
    token = StopToken()
    previous = {}

    def handler(signum, frame):  # noqa: ARG001
        if token.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        token.request(f"received {signal.Signals(signum).name}")

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield token
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
