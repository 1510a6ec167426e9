"""Messages from worker threads to the ROUTER loop, which alone may touch the ROUTER socket.

ZeroMQ sockets are not thread-safe, so workers never send to clients themselves: they queue a message here
and wake the loop with one byte on an inproc PUSH socket of their own (the loop polls the PULL end).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any

import zmq


@dataclass
class Outgoing:
    """To one client (`identity`), or to every subscriber of `job_id` when identity is None."""

    identity: bytes | None
    job_id: str | None
    msg_type: str
    request_id: Any
    fields: dict[str, Any]
    arrays: dict[str, Any] | None = None
    final: bool = False  # the job's last message: subscribers are dropped after it


class Outbox:
    def __init__(self, context: zmq.Context, address: str) -> None:
        self._context = context
        self.address = address
        self._queue: queue.SimpleQueue[Outgoing] = queue.SimpleQueue()
        self._local = threading.local()
        self._sockets: list[zmq.Socket] = []
        self._lock = threading.Lock()

    def put(self, message: Outgoing) -> None:
        self._queue.put(message)
        sock = getattr(self._local, "socket", None)
        if sock is None:
            sock = self._context.socket(zmq.PUSH)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.address)
            self._local.socket = sock
            with self._lock:
                self._sockets.append(sock)
        sock.send(b"", zmq.NOBLOCK)

    def drain(self) -> list[Outgoing]:
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        with self._lock:
            for sock in self._sockets:
                sock.close(linger=0)
            self._sockets.clear()
