"""Fitted plates kept warm so more queries on them skip the fit; evicted oldest-first when memory runs low."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux); None elsewhere, where only the entry limit applies."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class FittedCache:
    """An LRU of FittedJob objects by job id, at most `max_items`, fewer while free memory < `min_free_bytes`."""

    def __init__(self, max_items: int = 2, min_free_bytes: int = 2 << 30) -> None:
        self.max_items = max_items
        self.min_free_bytes = min_free_bytes
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Any | None:
        with self._lock:
            fitted = self._items.get(job_id)
            if fitted is not None:
                self._items.move_to_end(job_id)
            return fitted

    def put(self, job_id: str, fitted: Any) -> None:
        if self.max_items <= 0:
            return
        with self._lock:
            self._items[job_id] = fitted
            self._items.move_to_end(job_id)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            while len(self._items) > 1 and self._memory_low():
                self._items.popitem(last=False)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._items)

    def _memory_low(self) -> bool:
        free = available_memory_bytes()
        return free is not None and free < self.min_free_bytes
