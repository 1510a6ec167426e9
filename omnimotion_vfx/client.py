"""The thin client of the tracking daemon, for host bridges (Nuke, Blender) and `omnivfx submit/status`.

Imports only the standard library, pyzmq and msgpack (numpy only when arrays are sent or received), never
torch, so it loads inside a host's own Python. One `Client` per thread. Every wait is lazy-pirate style: the
client pings while it waits, and when the daemon stays silent for `timeout` seconds it drops the socket, opens
a new one and asks again, `retries` times, before raising `DaemonUnavailable`. See docs/daemon.md.

    with Client() as client:
        job_id = client.submit("/shots/sh010/plate.%04d.exr", queries=[[1001, 512.5, 300.5]], tracker="chained-flow")
        result = client.wait(job_id, on_progress=lambda p: print(p.stage, p.step, p.total))
        print(result.tracks.shape, result.results_dir)
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import zmq

from .daemon.protocol import DEFAULT_ENDPOINT, ErrorCode, Message, ProtocolError, decode, encode
from .errors import OmnivfxError
from .tracking.job_schema import CLIENT_KEYWORDS, JOB_FIELDS, check_job_fields

_EXIT_CODES = {ErrorCode.INPUT_ERROR: 2, ErrorCode.BAD_REQUEST: 2, ErrorCode.UNKNOWN_JOB: 2, ErrorCode.NOT_READY: 2,
               ErrorCode.NOT_RESUMABLE: 2, ErrorCode.CANCELLED: 3, ErrorCode.INTERRUPTED: 3}


# What the host bridges offer when the daemon cannot be asked (`capabilities`); tests/test_job_schema.py keeps it
# equal to the tracker registry, and the bridges say when they show it.
FALLBACK_TRACKERS: dict[str, dict[str, dict[str, str]]] = {
    "omnimotion": {"presets": {
        "default": "production default: the fast architecture fused with the flow (docs/engine.md)",
        "paper": "the published method and settings, no flow fusion (slowest)",
        "volumetric": "the published volumetric model, CPU-sized: slower than default, same accuracy",
        "preview": "a quick look: the default model fitted for 120 steps instead of 300",
        "quality": "long shots: the default model fitted for 3,000 steps, about 3x default's time on a 100-frame shot",
        "fast": "the fast architecture (what default fits)",
        "test": "tiny settings for smoke runs; not meant to be accurate",
    }},
    "chained-flow": {"presets": {
        "default": "DIS 'medium' flow chained frame to frame, 3 px cycle test for occlusion",
        "preview": "DIS 'fast' flow: quicker, a little less accurate",
        "fast": "same as preview",
        "paper": "the OmniMotion paper's chained-flow baseline (48 px cycle threshold)",
        "test": "same as default (smoke runs)",
    }},
}


class DaemonError(OmnivfxError):
    """The daemon answered with an `error` message; `code` is one of protocol.ErrorCode."""

    def __init__(self, code: str, message: str, job_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.job_id = job_id
        self.exit_code = _EXIT_CODES.get(code, 1)


class DaemonUnavailable(OmnivfxError):
    """No answer after every retry: the daemon is down, unreachable, or refused our CURVE key."""


@dataclass
class Progress:
    job_id: str
    state: str
    stage: str = ""
    step: int = 0
    total: int = 0
    eta: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)  # e.g. loss


@dataclass
class Result:
    """Arrays are read-only views of the received buffers; `np.array(result.tracks)` gives a writable copy."""

    job_id: str
    results_dir: str | None  # None for query_points answers (not written to disk)
    frames: Any  # int32 [T] plate frame numbers
    query_points: Any  # float32 [N, 3] (frame, x, y)
    tracks: Any  # float32 [N, T, 2] internal pixels, top-left origin
    visible: Any  # bool [N, T]
    names: list[str]
    manifest: dict[str, Any]


class Client:
    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        timeout: float = 3.0,
        retries: int = 2,
        curve_keys: str | os.PathLike | None = None,
        ping_interval: float = 1.0,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.ping_interval = ping_interval
        self._curve = _load_curve_keys(Path(curve_keys)) if curve_keys else None
        self._context = zmq.Context.instance()
        self._socket: zmq.Socket | None = None
        self._ids = itertools.count(1)
        self._prefix = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"

    # --- connection --------------------------------------------------------------------------------------

    def connect(self) -> "Client":
        """Open the DEALER socket (done lazily by every call; a dead one is replaced on retry)."""
        if self._socket is None:
            sock = self._context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            if self._curve is not None:
                sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = self._curve
            sock.connect(self.endpoint)
            self._socket = sock
        return self

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def __enter__(self) -> "Client":
        return self.connect()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- requests ------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Daemon version, protocol, uptime, workers, queue, job counts by state."""
        return self._ask("status").fields

    def list_jobs(self) -> list[dict[str, Any]]:
        return self._ask("list_jobs").fields["jobs"]

    def submit(
        self,
        plate: str | None = None,
        *,
        frames: Any = None,
        first_frame: int = 1,
        queries: Any = None,
        job_id: str | None = None,
        **job_fields: Any,
    ) -> str:
        """Queue a job; returns its id at once (follow it with `wait` or `events`).

        `plate`: a frame pattern, folder or video on storage the daemon can read (made absolute here), or
        `frames`: uint8 or float16 [T, H, W, 3] sent inline and numbered from `first_frame`.
        `queries`: [N, 3] (frame, x, y) points, or `queries_csv` a points.csv path, or `grid=N`.
        Every other keyword is a job field (tracking/job_schema.py: tracker, preset, out, layer, proxy,
        colorspace, device, origin, export, fit_minutes, ...; the job's `frames` and `queries` are `frame_range`
        and `queries_csv` here), checked against the same schema the daemon uses, so a typo fails before
        anything is sent.
        """
        renamed = {keyword: name for name, keyword in CLIENT_KEYWORDS.items()}
        job = {renamed.get(key, key): value for key, value in job_fields.items() if value is not None}
        if plate is not None:
            job["plate"] = plate
        check_job_fields(job, "submit", require_plate=frames is None)
        for name, spec in JOB_FIELDS.items():
            if spec.path and isinstance(job.get(name), str):
                job[name] = os.path.abspath(job[name])
        arrays: dict[str, Any] = {}
        if frames is not None:
            arrays["frames"] = frames
        if queries is not None:
            import numpy as np

            arrays["queries"] = np.asarray(queries, np.float32).reshape(-1, 3)
        job_id = job_id or uuid.uuid4().hex
        fields = {"job_id": job_id, "job": job, "first_frame": int(first_frame)}
        return self._ask("submit", fields, arrays).fields["job_id"]

    def capabilities(self) -> dict[str, Any]:
        """What this daemon can run: `trackers` (name -> {"presets": {name: one line}}), `default_tracker`, and
        `job_schema` (the fields of a job, as tracking/job_schema.py declares them)."""
        return self._ask("capabilities").fields

    def events(self, job_id: str) -> Iterator[Progress | Result]:
        """Progress events of a job, then its Result as the last item; raises DaemonError if it fails."""
        for message in self._conversation("watch", {"job_id": job_id}):
            if message.type == "result":
                yield _result(message)
                return
            if message.type in ("progress", "job_state"):
                yield _progress(message, job_id)

    def wait(self, job_id: str, on_progress: Callable[[Progress], None] | None = None) -> Result:
        for item in self.events(job_id):
            if isinstance(item, Result):
                return item
            if on_progress is not None:
                on_progress(item)
        raise DaemonError(ErrorCode.INTERNAL_ERROR, f"job {job_id}: the stream ended without a result", job_id)

    def track(self, plate: str | None = None, *, on_progress: Callable[[Progress], None] | None = None, **submit_args: Any) -> Result:
        """submit + wait in one call."""
        return self.wait(self.submit(plate, **submit_args), on_progress)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued job now or ask a running one to checkpoint and stop; returns the job's state."""
        return self._ask("cancel", {"job_id": job_id}).fields

    def resume(self, job_id: str) -> str:
        """Queue a cancelled or interrupted job again (it restarts from its caches and checkpoints)."""
        return self._ask("resume", {"job_id": job_id}).fields["job_id"]

    def fetch_result(self, job_id: str) -> Result:
        """Tracks of a finished job, read by the daemon from its results folder."""
        return _result(self._ask("fetch_result", {"job_id": job_id}))

    def query_points(self, job_id: str, points: Any) -> Result:
        """Track more (frame, x, y) points on a finished job's plate without refitting it."""
        import numpy as np

        return _result(self._ask("query_points", {"job_id": job_id}, {"points": np.asarray(points, np.float32).reshape(-1, 3)}))

    # --- lazy pirate -----------------------------------------------------------------------------------------

    def _ask(self, msg_type: str, fields: dict[str, Any] | None = None, arrays: dict[str, Any] | None = None) -> Message:
        """One request, one reply (the first message carrying our request id)."""
        for message in self._conversation(msg_type, fields, arrays):
            return message
        raise DaemonUnavailable(f"no reply to {msg_type} from {self.endpoint}")

    def _conversation(self, msg_type: str, fields: dict[str, Any] | None = None, arrays: dict[str, Any] | None = None) -> Iterator[Message]:
        """Send a request and yield every message answering it; raise on `error`; resend on silence."""
        request_id = f"{self._prefix}-{next(self._ids)}"
        frames = encode(msg_type, request_id, fields, arrays)
        payload = sum(memoryview(f).nbytes for f in frames)
        patience = self.timeout + payload / 100e6  # big inline plates take time to cross the wire
        failures = 0
        self._send(frames)
        last_heard = last_ping = time.monotonic()
        while True:
            sock = self._socket
            assert sock is not None
            wait = max(0.0, min(self.ping_interval, patience) - (time.monotonic() - last_ping))
            if sock.poll(int(wait * 1000) + 1):
                message = self._receive(sock)
                last_heard = time.monotonic()
                failures = 0
                if message is None or message.id != request_id:
                    continue  # pongs, or stale answers to an earlier socket's requests
                if message.type == "error":
                    raise DaemonError(message.fields.get("code", ErrorCode.INTERNAL_ERROR), str(message.fields.get("message", "")), message.fields.get("job_id"))
                yield message
                continue
            now = time.monotonic()
            if now - last_heard > patience:
                failures += 1
                if failures > self.retries:
                    self.close()
                    raise DaemonUnavailable(
                        f"no answer from the daemon at {self.endpoint} after {failures} tries of {patience:.1f} s; "
                        "start it with `omnivfx serve` (or check --connect and --curve-keys)"
                    )
                self.close()  # lazy pirate: a new socket, the same request again
                self.connect()
                self._send(frames)
                last_heard = last_ping = time.monotonic()
            elif now - last_ping >= self.ping_interval:
                self._send(encode("ping", "ping"))
                last_ping = now

    def _send(self, frames: list[Any]) -> None:
        self.connect()
        assert self._socket is not None
        self._socket.send_multipart(frames, copy=False)

    @staticmethod
    def _receive(sock: zmq.Socket) -> Message | None:
        try:
            return decode(sock.recv_multipart(copy=False))
        except ProtocolError:
            return None


def tracker_menu(endpoint: str = DEFAULT_ENDPOINT, timeout: float = 1.0, **client_args: Any) -> tuple[dict[str, Any], str | None]:
    """(trackers, None) as the daemon at `endpoint` lists them, default tracker first; or (FALLBACK_TRACKERS,
    why) when it cannot be asked, so a bridge can fill its menus either way and say which it shows."""
    try:
        with Client(endpoint, timeout=timeout, retries=0, **client_args) as client:
            answer = client.capabilities()
    except DaemonUnavailable:
        return FALLBACK_TRACKERS, f"no daemon at {endpoint}"
    except DaemonError as exc:  # an older daemon without `capabilities`
        return FALLBACK_TRACKERS, f"the daemon at {endpoint} does not list its trackers ({exc.code})"
    trackers = dict(answer.get("trackers") or {})
    first = answer.get("default_tracker")
    ordered = sorted(trackers, key=lambda name: name != first)
    return {name: trackers[name] for name in ordered}, None


def _load_curve_keys(folder: Path) -> tuple[bytes, bytes, bytes]:
    """(server public, client public, client secret) from a `omnivfx keys DIR --client NAME` folder."""
    import zmq.auth

    from .daemon.keys import CLIENT_SECRET, SERVER_PUBLIC

    server_file, secret_file = folder / SERVER_PUBLIC, folder / CLIENT_SECRET
    for path in (server_file, secret_file):
        if not path.is_file():
            raise DaemonError(ErrorCode.BAD_REQUEST, f"{path} not found; create client keys with `omnivfx keys DIR --client NAME`")
    server_public, _ = zmq.auth.load_certificate(str(server_file))
    public, secret = zmq.auth.load_certificate(str(secret_file))
    assert secret is not None
    return server_public, public, secret


def _progress(message: Message, job_id: str) -> Progress:
    fields = dict(message.fields)
    if message.type == "job_state":
        fields = {"state": fields.get("state", ""), **(fields.get("progress") or {})}
    known = {"job_id", "state", "stage", "step", "total", "eta", "done"}
    return Progress(
        job_id=job_id, state=str(fields.get("state", "")), stage=str(fields.get("stage", "")),
        step=int(fields.get("step") or 0), total=int(fields.get("total") or 0), eta=fields.get("eta"),
        metrics={k: v for k, v in fields.items() if k not in known},
    )


def _result(message: Message) -> Result:
    fields = message.fields
    return Result(
        job_id=fields["job_id"], results_dir=fields.get("results_dir"), frames=message.array("frames"),
        query_points=message.array("query_points"), tracks=message.array("tracks"), visible=message.array("visible"),
        names=list(fields.get("names") or []), manifest=dict(fields.get("manifest") or {}),
    )
