"""The ROUTER loop of `omnivfx serve`: decode, answer or hand off, never wait on a job.

One thread owns the ROUTER socket. Every request is answered from memory or handed to the `JobRunner`, whose
threads report back through the `Outbox`. Subscribers of a job (the client that submitted it, or any that
`watch` it) get its progress, a heartbeat every `heartbeat_interval`, then the result or an error.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import zmq

from .. import __version__
from ..errors import InputError
from ..exporters.folder_export import check_track_export
from ..io.sequence import find_sequence
from ..results.location import RESULTS_ENV, default_results_dir
from ..tracking.job import check_tracker_preset
from ..tracking.job_schema import DEFAULT_TRACKER, JOB_FIELDS, TrackJob, check_job_fields, job_schema
from ..tracking.registry import tracker_names, tracker_presets
from .engines import make_engine
from .fitted_cache import FittedCache
from .inline_plate import check_inline_frames
from .job_store import ACTIVE_STATES, DONE, PREPARING, QUEUED, RESUMABLE_STATES, JobRecord, JobStore
from .outbox import Outbox, Outgoing
from .protocol import DEFAULT_ENDPOINT, JOB_ID_PATTERN, PROTOCOL_VERSION, ErrorCode, Message, ProtocolError, decode, encode
from .runner import JobRunner

log = logging.getLogger("omnivfx.daemon")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
MAX_READS_PER_TURN = 200  # bounded so outbox messages and heartbeats still go out under a flood


@dataclass
class DaemonConfig:
    bind: str = DEFAULT_ENDPOINT
    jobs_dir: Path = field(default_factory=lambda: Path.home() / ".omnivfx" / "jobs")
    workers: int = 1
    keep_fitted: int = 2
    max_message_bytes: int = 2 << 30
    heartbeat_interval: float = 1.0
    client_timeout: float = 30.0  # subscriptions of a client silent this long are dropped
    shutdown_timeout: float = 120.0
    curve_keys: Path | None = None
    allow_remote: bool = False
    ray_address: str | None = None  # run jobs on this Ray cluster ('auto' or HOST:PORT) instead of in this process
    gpus_per_job: float = 1.0  # Ray only; fractional to share a card, 0 or no GPU in the cluster = CPU workers
    cpus_per_job: float = 1.0  # Ray only


def check_bind(endpoint: str, allow_remote: bool) -> None:
    """Loopback or ipc only, unless the operator explicitly allows other interfaces."""
    parts = urlsplit(endpoint)
    if parts.scheme == "ipc":
        return
    if parts.scheme != "tcp" or parts.port is None:
        raise InputError(f"--bind {endpoint}: use tcp://HOST:PORT or ipc:///path/to/socket")
    host = endpoint.split("://", 1)[1].rsplit(":", 1)[0]
    if host not in LOOPBACK_HOSTS and not allow_remote:
        raise InputError(f"--bind {endpoint} listens beyond this machine; add --allow-remote (and --curve-keys) to do that")


class Daemon:
    def __init__(self, config: DaemonConfig) -> None:
        check_bind(config.bind, config.allow_remote)
        # The tracker registry (its presets import the engine, hence torch: seconds) loads now, before the socket
        # is bound, so `capabilities` and the preset check of `submit` never stall the loop.
        tracker_names()
        self.config = config
        self.context = zmq.Context()
        self.store = JobStore(Path(config.jobs_dir))
        revived = self.store.load()
        self.outbox = Outbox(self.context, f"inproc://omnivfx-outbox-{id(self)}")
        engine = make_engine(config.ray_address, config.gpus_per_job, config.cpus_per_job)
        self.runner = JobRunner(self.store, self.outbox, FittedCache(config.keep_fitted), config.workers, engine)
        self._subscribers: dict[str, dict[bytes, Any]] = {}
        self._seen: dict[bytes, float] = {}
        self._started = time.time()
        self._authenticator = None
        self._handlers: dict[str, Callable[[bytes, Message], None]] = {
            "ping": self._ping, "status": self._status, "list_jobs": self._list_jobs, "submit": self._submit,
            "watch": self._watch, "cancel": self._cancel, "resume": self._resume,
            "fetch_result": self._fetch_result, "query_points": self._query_points,
            "capabilities": self._capabilities,
        }
        self.counters = {"received": 0, "errors_sent": 0}
        if revived:
            log.info("%d job(s) were interrupted by the last shutdown: %s", len(revived), ", ".join(r.job_id for r in revived))

    # --- lifecycle ---------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Serve until `stop` is set (SIGTERM/SIGINT), then checkpoint running jobs and close."""
        router = self._open_router()
        wake = self.context.socket(zmq.PULL)
        wake.bind(self.outbox.address)
        self.runner.start()
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(wake, zmq.POLLIN)
        next_beat = time.monotonic() + self.config.heartbeat_interval
        log.info("omnivfx daemon %s (protocol %d) serving on %s, jobs in %s, engine %s", __version__, PROTOCOL_VERSION,
                 self.config.bind, self.store.root, self.runner.engine.description)
        try:
            while not stop.is_set():
                timeout = max(0.0, min(0.2, next_beat - time.monotonic()))
                ready = dict(poller.poll(int(timeout * 1000)))
                if wake in ready:
                    self._drain_wakeups(wake)
                self._flush_outbox(router)
                if router in ready:
                    self._read_requests(router)
                    self._flush_outbox(router)
                if time.monotonic() >= next_beat:
                    self._heartbeat(router)
                    next_beat = time.monotonic() + self.config.heartbeat_interval
            log.info("shutting down: stopping running jobs at their next checkpoint")
            self.runner.shutdown("the daemon was stopped", self.config.shutdown_timeout)
            self._flush_outbox(router)
        finally:
            self.outbox.close()
            wake.close(linger=0)
            router.close(linger=500)
            if self._authenticator is not None:
                self._authenticator.stop()
            self.context.term()

    def _open_router(self) -> zmq.Socket:
        router = self.context.socket(zmq.ROUTER)
        router.setsockopt(zmq.MAXMSGSIZE, self.config.max_message_bytes)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.SNDHWM, 10000)
        if self.config.curve_keys is not None:
            self._setup_curve(router, Path(self.config.curve_keys))
        endpoint = self.config.bind
        old_umask = os.umask(0o177) if endpoint.startswith("ipc://") else None
        try:
            router.bind(endpoint)
        except zmq.ZMQError as exc:
            router.close(linger=0)
            if self._authenticator is not None:
                self._authenticator.stop()
            raise InputError(f"cannot listen on {endpoint}: {exc}; is another daemon running there?") from None
        finally:
            if old_umask is not None:
                os.umask(old_umask)
        if endpoint.startswith("ipc://"):
            os.chmod(endpoint[len("ipc://"):], stat.S_IRUSR | stat.S_IWUSR)
        return router

    def _setup_curve(self, router: zmq.Socket, keys: Path) -> None:
        import zmq.auth
        from zmq.auth.thread import ThreadAuthenticator

        from .keys import AUTHORIZED_DIR, SERVER_SECRET

        secret_file, allowed = keys / SERVER_SECRET, keys / AUTHORIZED_DIR
        if not secret_file.is_file() or not allowed.is_dir():
            raise InputError(f"--curve-keys {keys}: needs {SERVER_SECRET} and {AUTHORIZED_DIR}/; create them with `omnivfx keys {keys}`")
        public, secret = zmq.auth.load_certificate(str(secret_file))
        self._authenticator = ThreadAuthenticator(self.context, log=logging.getLogger("omnivfx.daemon.auth"))
        self._authenticator.start()
        self._authenticator.configure_curve(domain="*", location=str(allowed))
        router.curve_publickey = public
        router.curve_secretkey = secret
        router.curve_server = True

    # --- the loop's pieces ---------------------------------------------------------------------------------

    def _drain_wakeups(self, wake: zmq.Socket) -> None:
        while True:
            try:
                wake.recv(zmq.NOBLOCK)
            except zmq.Again:
                return

    def _read_requests(self, router: zmq.Socket) -> None:
        for _ in range(MAX_READS_PER_TURN):
            try:
                frames = router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            self._dispatch(router, frames)

    def _dispatch(self, router: zmq.Socket, frames: list[zmq.Frame]) -> None:
        identity = frames[0].bytes
        self._seen[identity] = time.monotonic()
        self.counters["received"] += 1
        request_id = None
        try:
            message = decode(frames[1:], self.config.max_message_bytes)
            request_id = message.id
            handler = self._handlers.get(message.type)
            if handler is None:
                raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {message.type!r}; known: {', '.join(sorted(self._handlers))}", request_id)
            handler(identity, message)
        except ProtocolError as exc:
            self._send_error(router, identity, exc.request_id, exc.code, str(exc))
        except Exception as exc:  # a handler bug: answer, log, keep serving
            log.error("internal error on a %d-frame message: %s\n%s", len(frames) - 1, exc, traceback.format_exc())
            self._send_error(router, identity, request_id, ErrorCode.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")

    def _send(self, router: zmq.Socket, identity: bytes, msg_type: str, request_id: Any, fields: dict[str, Any], arrays: dict[str, Any] | None = None) -> None:
        try:
            router.send_multipart([identity, *encode(msg_type, request_id, fields, arrays)], zmq.NOBLOCK, copy=False)
        except zmq.ZMQError as exc:  # a vanished or flooded peer: its loss, not the daemon's
            log.debug("dropped a %s to a peer: %s", msg_type, exc)

    def _send_error(self, router: zmq.Socket, identity: bytes, request_id: Any, code: str, message: str) -> None:
        self.counters["errors_sent"] += 1
        self._send(router, identity, "error", request_id, {"code": code, "message": message})

    def _flush_outbox(self, router: zmq.Socket) -> None:
        for out in self.outbox.drain():
            if out.identity is not None:
                self._send(router, out.identity, out.msg_type, out.request_id, out.fields, out.arrays)
                continue
            subscribers = self._subscribers.get(out.job_id or "", {})
            for identity, request_id in list(subscribers.items()):
                self._send(router, identity, out.msg_type, request_id, out.fields, out.arrays)
            if out.final:
                self._subscribers.pop(out.job_id or "", None)

    def _heartbeat(self, router: zmq.Socket) -> None:
        """Tell watchers their job and the daemon are alive; forget clients that went silent."""
        now = time.monotonic()
        stale = {identity for identity, seen in self._seen.items() if now - seen > self.config.client_timeout}
        for identity in stale:
            del self._seen[identity]
        for job_id, subscribers in list(self._subscribers.items()):
            for identity in stale & subscribers.keys():
                del subscribers[identity]
            record = self.store.get(job_id)
            if not subscribers or record is None:
                self._subscribers.pop(job_id, None)
                continue
            fields = {"job_id": job_id, "state": record.state, "progress": record.progress}
            for identity, request_id in subscribers.items():
                self._send(router, identity, "heartbeat", request_id, fields)

    # --- handlers ------------------------------------------------------------------------------------------

    def _reply(self, identity: bytes, msg_type: str, request_id: Any, fields: dict[str, Any]) -> None:
        self.outbox.put(Outgoing(identity, None, msg_type, request_id, fields))

    def _ping(self, identity: bytes, message: Message) -> None:
        self._reply(identity, "pong", message.id, {"time": time.time()})

    def _status(self, identity: bytes, message: Message) -> None:
        self._reply(identity, "status", message.id, {
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
            "pid": os.getpid(),
            "uptime": round(time.time() - self._started, 3),
            "workers": self.runner.workers,
            "engine": self.runner.engine.description,
            "queue_length": self.runner.queue_length(),
            "running": self.runner.running(),
            "jobs": self.store.counts(),
            "fitted_in_memory": self.runner.cache.keys(),
            "max_message_bytes": self.config.max_message_bytes,
            "heartbeat_interval": self.config.heartbeat_interval,
            "jobs_dir": str(self.store.root),
        })

    def _capabilities(self, identity: bytes, message: Message) -> None:
        """What a bridge may offer: the trackers with their presets, and the job schema it submits against."""
        trackers = {name: {"presets": tracker_presets(name)} for name in tracker_names()}
        self._reply(identity, "capabilities", message.id, {
            "protocol": PROTOCOL_VERSION, "trackers": trackers, "default_tracker": DEFAULT_TRACKER,
            "job_schema": job_schema(),
        })

    def _list_jobs(self, identity: bytes, message: Message) -> None:
        self._reply(identity, "jobs", message.id, {"jobs": [r.summary() for r in self.store.all()]})

    def _submit(self, identity: bytes, message: Message) -> None:
        job_id = message.fields.get("job_id")
        if job_id is not None:
            if not isinstance(job_id, str) or not JOB_ID_PATTERN.match(job_id):
                raise ProtocolError(ErrorCode.BAD_REQUEST, "job_id must match [A-Za-z0-9_.-]{1,64}", message.id)
            if self.store.get(job_id) is not None:  # a retried submit: same job, just watch it
                self._watch(identity, message)
                return
        spec = self._job_spec(message)
        frames = message.array("frames")
        job_id = job_id or self.store.new_id()
        if frames is not None:
            first_frame = message.fields.get("first_frame", 1)
            if not isinstance(first_frame, int) or isinstance(first_frame, bool) or not 0 <= first_frame < 10**7:
                raise ProtocolError(ErrorCode.BAD_REQUEST, "first_frame must be an integer >= 0", message.id)
            try:
                check_inline_frames(frames)
            except InputError as exc:
                raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc), message.id) from None
            spec.setdefault("out", str(self.store.folder(job_id) / "results"))
        elif not spec.get("out"):
            spec["out"] = self._default_out(spec, job_id, message)
        record = JobRecord(job_id, spec, state=PREPARING if frames is not None else QUEUED)
        self.store.add(record)
        self._subscribe(job_id, identity, message.id)
        self._reply(identity, "accepted", message.id, {"job_id": job_id, "state": record.state, "queue_length": self.runner.queue_length()})
        if frames is not None:
            self.runner.prepare_inline(job_id, frames, first_frame)
        else:
            self.runner.enqueue(job_id)
        log.info("job %s accepted: %s", job_id, spec.get("plate", "inline frames"))

    def _default_out(self, spec: dict[str, Any], job_id: str, message: Message) -> str:
        """The results folder of a job sent without `out`, fixed here so that a Ray worker, with its own environment
        and working folder, writes where this daemon would: `$OMNIVFX_RESULTS/<plate folder>_<plate name>` when the
        daemon has that variable, else the job's own folder (never the daemon's working directory, where two shots'
        plate.####.exr would share one). Only the plate's file names are read here, never its pixels."""
        if not os.environ.get(RESULTS_ENV):
            return str(self.store.folder(job_id) / "results")
        try:
            sequence = find_sequence(spec["plate"], spec.get("frames"))
            return str(default_results_dir(sequence.source, sequence.name))
        except InputError as exc:
            raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc), message.id) from None

    def _job_spec(self, message: Message) -> dict[str, Any]:
        """Check the `job` map field by field, so a bad submit is refused now and not by a worker later."""
        job = message.fields.get("job")
        if not isinstance(job, dict):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "submit needs a 'job' map of TrackJob fields", message.id)
        spec = dict(job)
        try:
            check_job_fields(spec, "job", require_plate=False)  # every bad field named, in one line
            if spec.get("export"):
                check_track_export(spec["export"])
        except InputError as exc:
            raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc), message.id) from None
        inline_frames = message.array("frames") is not None
        if inline_frames == bool(spec.get("plate")):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "give either job.plate (a path) or a 'frames' array, exactly one", message.id)
        for name in (name for name, field in JOB_FIELDS.items() if field.path):
            if spec.get(name) and not os.path.isabs(spec[name]):
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"job.{name} must be an absolute path the daemon can read", message.id)
        queries = message.array("queries")
        if queries is not None:
            if queries.dtype.str != "<f4" or queries.ndim != 2 or queries.shape[1] != 3 or len(queries) == 0:
                raise ProtocolError(ErrorCode.BAD_REQUEST, "the 'queries' array must be float32 [N>0, 3] (frame, x, y)", message.id)
            spec["query_points"] = queries.tolist()
        spec.setdefault("tracker", DEFAULT_TRACKER)
        try:
            check_tracker_preset(TrackJob.from_dict(dict(spec, plate=spec.get("plate") or "inline"), source="job"))
        except InputError as exc:
            raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc), message.id) from None
        return spec

    def _job(self, message: Message) -> JobRecord:
        job_id = message.fields.get("job_id")
        if not isinstance(job_id, str):
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"{message.type} needs a string field job_id", message.id)
        record = self.store.get(job_id)
        if record is None:
            raise ProtocolError(ErrorCode.UNKNOWN_JOB, f"no job {job_id!r}; `omnivfx status` lists the jobs", message.id)
        return record

    def _subscribe(self, job_id: str, identity: bytes, request_id: Any) -> None:
        self._subscribers.setdefault(job_id, {})[identity] = request_id

    def _watch(self, identity: bytes, message: Message) -> None:
        record = self._job(message)
        self._reply(identity, "job_state", message.id, record.summary())
        if record.state in ACTIVE_STATES:
            self._subscribe(record.job_id, identity, message.id)
        elif record.state == DONE:
            self.runner.fetch(identity, message.id, record.job_id)
        else:
            code = record.error_code or ErrorCode.INTERRUPTED
            self.outbox.put(Outgoing(identity, None, "error", message.id, {"code": code, "message": record.error_message or record.state, "job_id": record.job_id}))

    def _cancel(self, identity: bytes, message: Message) -> None:
        record = self.runner.cancel(self._job(message).job_id) or self._job(message)
        self._reply(identity, "job_state", message.id, record.summary())

    def _resume(self, identity: bytes, message: Message) -> None:
        record = self._job(message)
        if not record.resumable:
            raise ProtocolError(ErrorCode.NOT_RESUMABLE, f"job {record.job_id} is {record.state}; only cancelled or interrupted jobs resume", message.id)
        record = self.store.update(record.job_id, only_from=RESUMABLE_STATES, state=QUEUED, error_code=None,
                                   error_message=None, finished=None, cancel_requested=False) or record
        self._subscribe(record.job_id, identity, message.id)
        self._reply(identity, "accepted", message.id, {"job_id": record.job_id, "state": record.state, "queue_length": self.runner.queue_length()})
        self.runner.enqueue(record.job_id)

    def _fetch_result(self, identity: bytes, message: Message) -> None:
        record = self._job(message)
        if record.state != DONE:
            raise ProtocolError(ErrorCode.NOT_READY, f"job {record.job_id} is {record.state}, not done", message.id)
        self.runner.fetch(identity, message.id, record.job_id)

    def _query_points(self, identity: bytes, message: Message) -> None:
        record = self._job(message)
        if record.state != DONE:
            raise ProtocolError(ErrorCode.NOT_READY, f"job {record.job_id} is {record.state}; query points once it is done", message.id)
        points = message.array("points")
        if points is None or points.dtype.str != "<f4" or points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "query_points needs a 'points' array float32 [N>0, 3] (frame, x, y)", message.id)
        self.runner.query(identity, message.id, record.job_id, points)
