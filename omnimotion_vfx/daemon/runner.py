"""Runs jobs off the ROUTER loop: worker threads fit plates one job each; an I/O pool answers quick requests.

Workers take queued jobs in order (`workers` at a time) and hand each to the daemon's `JobEngine` (this process,
or a Ray cluster; chosen at start-up), which writes the results folder; a fitted plate that lives in this
process is kept warm in the `FittedCache`. The I/O pool writes inline plates, loads finished results and
answers extra queries, so a long fit never delays a fetch. Everything a client must hear goes through the
`Outbox`; the loop never waits on any of this.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ..errors import InputError, Interrupted
from ..progress import StopToken
from ..results.folder import TrackResults, load_results
from ..tracking.job import TrackJob, load_fitted
from .engines import JobEngine, LocalEngine
from .fitted_cache import FittedCache
from .inline_plate import write_inline_plate
from .job_store import CANCELLED, DONE, FAILED, INTERRUPTED, PREPARING, QUEUED, RUNNING, JobRecord, JobStore
from .outbox import Outbox, Outgoing
from .protocol import ErrorCode

log = logging.getLogger("omnivfx.daemon")


def result_message(identity: bytes | None, job_id: str, request_id: Any, results: TrackResults, results_dir: str | None) -> Outgoing:
    """The `result` message: tracks and visibility as arrays, names and manifest in the header."""
    return Outgoing(
        identity, job_id if identity is None else None, "result", request_id,
        {"job_id": job_id, "state": DONE, "results_dir": results_dir, "names": list(results.names), "manifest": results.manifest},
        {"frames": results.frames, "query_points": results.query_points, "tracks": results.tracks, "visible": results.visible},
        final=True,
    )


def error_message(identity: bytes | None, job_id: str | None, request_id: Any, code: str, message: str, final: bool = True) -> Outgoing:
    fields: dict[str, Any] = {"code": code, "message": message}
    if job_id is not None:
        fields["job_id"] = job_id
    return Outgoing(identity, job_id if identity is None else None, "error", request_id, fields, final=final)


class JobRunner:
    def __init__(self, store: JobStore, outbox: Outbox, cache: FittedCache, workers: int = 1, engine: JobEngine | None = None) -> None:
        self.store = store
        self.engine = engine or LocalEngine()
        self.outbox = outbox
        self.cache = cache
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stops: dict[str, StopToken] = {}
        self._stops_lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"omnivfx-worker-{i}", daemon=True) for i in range(max(1, workers))]
        self._io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="omnivfx-io")
        self._closing = False

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    @property
    def workers(self) -> int:
        return len(self._threads)

    def queue_length(self) -> int:
        return self._queue.qsize()

    def running(self) -> list[str]:
        with self._stops_lock:
            return list(self._stops)

    def enqueue(self, job_id: str) -> None:
        self._queue.put(job_id)

    def prepare_inline(self, job_id: str, frames: Any, first_frame: int) -> None:
        """Write the inline frames on the I/O pool, then queue the job (so a restart can resume it)."""
        self._io.submit(self._guard, job_id, None, None, self._prepare_inline, job_id, frames, first_frame)

    def fetch(self, identity: bytes, request_id: Any, job_id: str) -> None:
        self._io.submit(self._guard, job_id, identity, request_id, self._fetch, identity, request_id, job_id)

    def query(self, identity: bytes, request_id: Any, job_id: str, points: Any) -> None:
        self._io.submit(self._guard, job_id, identity, request_id, self._query, identity, request_id, job_id, points)

    def cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a queued job at once; ask a running one to stop (it checkpoints, then reports `cancelled`)."""
        record = self.store.update(job_id, only_from=(QUEUED, PREPARING), state=CANCELLED, finished=time.time(),
                                   error_code=ErrorCode.CANCELLED, error_message="cancelled by a client before it started")
        if record is not None:
            self.outbox.put(error_message(None, job_id, None, ErrorCode.CANCELLED, record.error_message or ""))
            return record
        record = self.store.update(job_id, only_from=(RUNNING,), cancel_requested=True)
        with self._stops_lock:
            stop = self._stops.get(job_id)
        if stop is not None:
            stop.request("cancelled by a client")
        return self.store.get(job_id)

    def shutdown(self, reason: str, timeout: float) -> None:
        """Stop running jobs (they checkpoint), mark queued ones interrupted, wait for the workers."""
        self._closing = True
        for record in self.store.all():
            if record.state in (QUEUED, PREPARING):
                self.store.update(record.job_id, state=INTERRUPTED, error_code=ErrorCode.INTERRUPTED,
                                  error_message=f"{reason} before the job started; resume it")
                self.outbox.put(error_message(None, record.job_id, None, ErrorCode.INTERRUPTED, f"{reason}; resume the job"))
        with self._stops_lock:
            for stop in self._stops.values():
                stop.request(reason)
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._io.shutdown(wait=False, cancel_futures=True)
        self.engine.close()

    # --- worker side -------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._closing:
                return
            record = self.store.update(job_id, only_from=(QUEUED,), state=RUNNING, started=time.time(),
                                       error_code=None, error_message=None, cancel_requested=False)
            if record is None:
                continue  # cancelled while it waited
            stop = StopToken()
            with self._stops_lock:
                self._stops[job_id] = stop
            log.info("job %s running", job_id)
            try:
                self._run(record, stop)
            finally:
                with self._stops_lock:
                    self._stops.pop(job_id, None)

    def _run(self, record: JobRecord, stop: StopToken) -> None:
        job_id = record.job_id

        def forward(event: dict[str, Any]) -> None:
            self.store.set_progress(job_id, event)
            self.outbox.put(Outgoing(None, job_id, "progress", None, {"job_id": job_id, "state": RUNNING, **event}))

        try:
            finished = self.engine.run(job_id, TrackJob.from_dict(record.spec), forward, stop)
        except Interrupted as exc:
            code = ErrorCode.CANCELLED if record.cancel_requested else ErrorCode.INTERRUPTED
            self._finish(job_id, CANCELLED if code == ErrorCode.CANCELLED else INTERRUPTED, code, str(exc))
            return
        except InputError as exc:
            self._finish(job_id, FAILED, ErrorCode.INPUT_ERROR, str(exc))
            return
        except Exception as exc:  # a bug in the engine must not take the daemon down
            self._finish(job_id, FAILED, ErrorCode.INTERNAL_ERROR, self._crash_message(job_id, exc))
            return
        if finished.fitted is not None:
            self.cache.put(job_id, finished.fitted)
        folder = finished.folder
        self.store.update(job_id, state=DONE, finished=time.time(), results_dir=folder, progress={},
                          spec=dict(record.spec, out=folder))
        log.info("job %s done: %s", job_id, folder)
        self.outbox.put(result_message(None, job_id, None, finished.results, folder))

    def _finish(self, job_id: str, state: str, code: str, message: str) -> None:
        self.store.update(job_id, state=state, finished=time.time(), error_code=code, error_message=message)
        log.info("job %s %s: %s", job_id, state, message)
        self.outbox.put(error_message(None, job_id, None, code, message))

    def _crash_message(self, job_id: str, exc: Exception) -> str:
        path = self.store.folder(job_id) / "error.log"
        path.write_text(traceback.format_exc())
        return f"{type(exc).__name__}: {exc} (traceback in {path})"

    # --- I/O pool side -----------------------------------------------------------------------------------

    def _guard(self, job_id: str, identity: bytes | None, request_id: Any, task: Callable[..., None], *args: Any) -> None:
        """Run an I/O task; its failure becomes an error message to whoever asked, never a dead thread."""
        try:
            task(*args)
        except InputError as exc:
            self.outbox.put(error_message(identity, job_id, request_id, ErrorCode.INPUT_ERROR, str(exc)))
            if identity is None:
                self.store.update(job_id, state=FAILED, finished=time.time(), error_code=ErrorCode.INPUT_ERROR, error_message=str(exc))
        except Exception as exc:
            message = self._crash_message(job_id, exc)
            self.outbox.put(error_message(identity, job_id, request_id, ErrorCode.INTERNAL_ERROR, message))
            if identity is None:
                self.store.update(job_id, state=FAILED, finished=time.time(), error_code=ErrorCode.INTERNAL_ERROR, error_message=message)

    def _prepare_inline(self, job_id: str, frames: Any, first_frame: int) -> None:
        pattern = write_inline_plate(frames, first_frame, self.store.folder(job_id) / "plate")
        record = self.store.get(job_id)
        if record is None:
            return
        spec = dict(record.spec, plate=pattern)
        if self.store.update(job_id, only_from=(PREPARING,), state=QUEUED, spec=spec) is not None:
            self.enqueue(job_id)
        else:
            self.store.update(job_id, spec=spec)  # cancelled meanwhile: keep the plate so it can resume

    def _fetch(self, identity: bytes, request_id: Any, job_id: str) -> None:
        record = self.store.get(job_id)
        if record is None or record.results_dir is None:
            raise InputError(f"job {job_id} has no results folder")
        self.outbox.put(result_message(identity, job_id, request_id, load_results(record.results_dir), record.results_dir))

    def _query(self, identity: bytes, request_id: Any, job_id: str, points: Any) -> None:
        fitted = self.cache.get(job_id)
        if fitted is None:
            record = self.store.get(job_id)
            if record is None:
                raise InputError(f"job {job_id} is gone")
            # Reload the fitted clip from its results folder with `load_fitted`, as export and pin do: the recorded
            # job and engine overrides, the caches and the checkpoint there make it cheap, and it never refits (a
            # folder without its fit is an input error for the client). This is also how a plate fitted on a Ray
            # cluster gets answered (docs/daemon.md, "On a Ray cluster").
            if record.results_dir is None:
                raise InputError(f"job {job_id} has no results folder; submit it again")
            fitted = load_fitted(record.results_dir)
            self.cache.put(job_id, fitted)
        results = fitted.answer(points)
        self.outbox.put(result_message(identity, job_id, request_id, results, None))
