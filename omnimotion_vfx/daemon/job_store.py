"""Job records on disk: one `<jobs dir>/<job id>/job.json` per job, rewritten atomically on every change.

The files are the daemon's memory across restarts: finished jobs keep pointing at their results folders, and
jobs that were queued or running when the daemon died come back as `interrupted`, ready to resume.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..results.atomic import atomic_write_json
from .protocol import ErrorCode

JOB_FILE = "job.json"
QUEUED, PREPARING, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "preparing", "running", "done", "failed", "cancelled", "interrupted",
)
ACTIVE_STATES = (PREPARING, QUEUED, RUNNING)
RESUMABLE_STATES = (CANCELLED, INTERRUPTED)


@dataclass
class JobRecord:
    """What the daemon knows about one job; `spec` holds TrackJob fields (the plate path after inline frames land)."""

    job_id: str
    spec: dict[str, Any]
    state: str = QUEUED
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    results_dir: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    cancel_requested: bool = False

    def summary(self) -> dict[str, Any]:
        """The wire form of a job (list_jobs, status, job_state): no inline query points."""
        return {
            "job_id": self.job_id,
            "state": self.state,
            "plate": self.spec.get("plate"),
            "tracker": self.spec.get("tracker"),
            "preset": self.spec.get("preset"),
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "results_dir": self.results_dir,
            "error": None if self.error_code is None else {"code": self.error_code, "message": self.error_message},
            "progress": self.progress,
            "resumable": self.resumable,
        }

    @property
    def resumable(self) -> bool:
        plate = self.spec.get("plate")
        return self.state in RESUMABLE_STATES and isinstance(plate, str) and bool(plate)


class JobStore:
    """Thread-safe records plus their JSON files; the ROUTER loop and the workers both change states here."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._jobs: dict[str, JobRecord] = {}

    def load(self) -> list[JobRecord]:
        """Read every job file; jobs that were active when the last daemon stopped become `interrupted`."""
        revived = []
        for path in sorted(self.root.glob(f"*/{JOB_FILE}")):
            try:
                record = JobRecord(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue  # a foreign or damaged file: leave it for a human, never crash the daemon on it
            if record.state in ACTIVE_STATES:
                record.state = INTERRUPTED
                record.error_code = ErrorCode.INTERRUPTED
                record.error_message = "the daemon stopped while this job was queued or running; resume it"
                self._save(record)
                revived.append(record)
            self._jobs[record.job_id] = record
        return revived

    def new_id(self) -> str:
        return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def add(self, record: JobRecord) -> None:
        with self._lock:
            self._jobs[record.job_id] = record
            self._save(record)

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[JobRecord]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda r: r.created)

    def update(self, job_id: str, only_from: Iterable[str] | None = None, **changes: Any) -> JobRecord | None:
        """Apply `changes` (and persist) if the job exists and is in one of `only_from`; returns it or None."""
        with self._lock:
            record = self._jobs.get(job_id)
            if record is None or (only_from is not None and record.state not in only_from):
                return None
            for key, value in changes.items():
                setattr(record, key, value)
            self._save(record)
            return record

    def set_progress(self, job_id: str, event: dict[str, Any]) -> None:
        """In memory only: progress changes several times a second and is not worth a disk write."""
        with self._lock:
            record = self._jobs.get(job_id)
            if record is not None:
                record.progress = event

    def counts(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for record in self._jobs.values():
                counts[record.state] = counts.get(record.state, 0) + 1
            return counts

    def _save(self, record: JobRecord) -> None:
        atomic_write_json(self.folder(record.job_id) / JOB_FILE, asdict(record))
