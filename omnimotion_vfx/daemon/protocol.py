"""The wire format of the tracking daemon (docs/protocol.md): a msgpack header, then raw array buffers.

Shared by the daemon and the thin client, so it imports only the standard library and msgpack: a host bridge
that sends control messages never needs numpy, and arrays become numpy views only where they are asked for.
Nothing here ever unpickles: headers are msgpack maps, arrays are bytes described by dtype and shape.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import msgpack

PROTOCOL_VERSION = 1
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5571"
MAX_HEADER_BYTES = 1 << 20
MAX_DIMS = 6
ALLOWED_DTYPES = frozenset({"|u1", "|b1", "<f2", "<f4", "<i4"})
RESERVED_FIELDS = ("v", "type", "id", "arrays")
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ErrorCode:
    """Every code a daemon `error` message may carry; docs/protocol.md explains each one."""

    BAD_MESSAGE = "bad_message"  # not a msgpack map, truncated, array bytes not matching dtype/shape
    BAD_VERSION = "bad_version"  # protocol version this daemon does not speak
    UNKNOWN_TYPE = "unknown_type"  # message type not in the protocol
    BAD_REQUEST = "bad_request"  # a field is missing or has the wrong type/value
    TOO_LARGE = "too_large"  # the whole message exceeds the daemon's limit
    UNKNOWN_JOB = "unknown_job"  # no job with that id
    NOT_READY = "not_ready"  # the job has no results yet (fetch_result, query_points)
    NOT_RESUMABLE = "not_resumable"  # resume of a job that is done, running or lost its inline plate
    INPUT_ERROR = "input_error"  # the job failed on bad input (plate, queries, option); fix and resubmit
    CANCELLED = "cancelled"  # the job was cancelled by a client; resumable
    INTERRUPTED = "interrupted"  # the daemon stopped or died while the job ran; resumable
    INTERNAL_ERROR = "internal_error"  # a bug; the message names the log with the traceback

    ALL = (
        BAD_MESSAGE, BAD_VERSION, UNKNOWN_TYPE, BAD_REQUEST, TOO_LARGE, UNKNOWN_JOB, NOT_READY,
        NOT_RESUMABLE, INPUT_ERROR, CANCELLED, INTERRUPTED, INTERNAL_ERROR,
    )


class ProtocolError(Exception):
    """A message that cannot be decoded; carries the error code the reply should use."""

    def __init__(self, code: str, message: str, request_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


@dataclass
class Message:
    """A decoded message: its header fields and its arrays as (dtype, shape, buffer) triples."""

    type: str
    id: Any
    fields: dict[str, Any]
    arrays: list[tuple[str, list[int], memoryview]] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)

    def array(self, name: str):
        """The named array as a read-only numpy view of the received buffer (no copy), or None if absent."""
        if name not in self.names:
            return None
        dtype, shape, buffer = self.arrays[self.names.index(name)]
        return as_numpy(dtype, shape, buffer)


def as_numpy(dtype: str, shape: Sequence[int], buffer: Any):
    import numpy as np

    return np.frombuffer(buffer, dtype=np.dtype(dtype)).reshape(tuple(shape))


def encode(msg_type: str, request_id: Any, fields: dict[str, Any] | None = None, arrays: dict[str, Any] | None = None) -> list[Any]:
    """Frames to send: the header, then each array's buffer (C-contiguous, sent without a copy by pyzmq)."""
    header: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": msg_type, "id": request_id}
    if fields:
        header.update(fields)
    buffers: list[Any] = []
    specs: list[dict[str, Any]] = []
    for name, value in (arrays or {}).items():
        dtype, shape, buffer = _describe(value)
        specs.append({"name": name, "dtype": dtype, "shape": shape})
        buffers.append(buffer)
    if specs:
        header["arrays"] = specs
    return [msgpack.packb(header, use_bin_type=True), *buffers]


def _describe(value: Any) -> tuple[str, list[int], Any]:
    import numpy as np

    array = np.ascontiguousarray(value)
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    array = array.astype(dtype, copy=False)
    if array.dtype.str not in ALLOWED_DTYPES:
        raise ValueError(f"dtype {array.dtype} cannot be sent; use one of {sorted(ALLOWED_DTYPES)}")
    return array.dtype.str, list(array.shape), array.reshape(-1).view(np.uint8).data


def decode(frames: Sequence[Any], max_bytes: int | None = None) -> Message:
    """Check and decode received frames (bytes or zmq.Frame); raises ProtocolError with the reply's code."""
    if not frames:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "empty message: frame 0 must be a msgpack header")
    buffers = [_buffer(f) for f in frames]
    if max_bytes is not None:
        total = sum(b.nbytes for b in buffers)
        if total > max_bytes:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"message of {total} bytes exceeds this daemon's limit of {max_bytes}",
                                _request_id_if_readable(buffers[0]))
    if buffers[0].nbytes > MAX_HEADER_BYTES:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"header of {buffers[0].nbytes} bytes exceeds {MAX_HEADER_BYTES}")
    header = _unpack_header(buffers[0])
    request_id = header.get("id")
    if not _is_plain_id(request_id):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "field 'id' must be a string (<= 64 chars), an integer or nil")
    version = header.get("v")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(ErrorCode.BAD_VERSION, f"protocol version {version!r} is not spoken here; send v={PROTOCOL_VERSION}", request_id)
    msg_type = header.get("type")
    if not isinstance(msg_type, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "field 'type' must be a string", request_id)
    specs = header.get("arrays", [])
    if not isinstance(specs, list):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "field 'arrays' must be a list of {name, dtype, shape}", request_id)
    if len(specs) != len(buffers) - 1:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            f"truncated or padded message: header declares {len(specs)} array(s), {len(buffers) - 1} frame(s) follow",
            request_id,
        )
    arrays, names = [], []
    for index, (spec, buffer) in enumerate(zip(specs, buffers[1:])):
        dtype, shape, name = _check_spec(spec, buffer.nbytes, index, request_id)
        arrays.append((dtype, shape, buffer))
        names.append(name)
    fields = {k: v for k, v in header.items() if k not in RESERVED_FIELDS}
    return Message(msg_type, request_id, fields, arrays, names)


def _request_id_if_readable(buffer: memoryview) -> Any:
    """The id of a message about to be refused, so the sender can match the refusal to its request."""
    if buffer.nbytes > MAX_HEADER_BYTES:
        return None
    try:
        request_id = _unpack_header(buffer).get("id")
    except ProtocolError:
        return None
    return request_id if _is_plain_id(request_id) else None


def _buffer(frame: Any) -> memoryview:
    buffer = frame.buffer if hasattr(frame, "buffer") else frame
    return memoryview(buffer).cast("B")


def _unpack_header(buffer: memoryview) -> dict[str, Any]:
    try:
        header = msgpack.unpackb(
            buffer, raw=False, strict_map_key=True, max_str_len=1 << 20, max_bin_len=1 << 20,
            max_array_len=1 << 20, max_map_len=1 << 16, max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises many types on garbage; all mean the same to the sender
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"frame 0 is not a msgpack header ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"frame 0 must be a msgpack map, found {type(header).__name__}")
    return header


def _is_plain_id(value: Any) -> bool:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63):
        return True
    return isinstance(value, str) and len(value) <= 64


def _check_spec(spec: Any, nbytes: int, index: int, request_id: Any) -> tuple[str, list[int], str | None]:
    where = f"array {index}"
    if not isinstance(spec, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"{where}: spec must be a map {{name, dtype, shape}}", request_id)
    dtype, shape, name = spec.get("dtype"), spec.get("shape"), spec.get("name")
    if dtype not in ALLOWED_DTYPES:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"{where}: dtype {dtype!r} not allowed; use one of {sorted(ALLOWED_DTYPES)}", request_id)
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**40 for s in shape)
    ):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"{where}: shape must be a list of at most {MAX_DIMS} non-negative ints", request_id)
    if name is not None and not isinstance(name, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"{where}: name must be a string", request_id)
    expected = math.prod(shape) * int(dtype[2:])
    if expected != nbytes:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"{where}: {dtype} {shape} needs {expected} bytes, the frame has {nbytes}", request_id
        )
    return dtype, shape, name
