"""Thousands of random and mutated messages at a real daemon: every one answered, none fatal, memory bounded."""

from __future__ import annotations

import random

import msgpack
import numpy as np
import zmq

from daemon_support import DaemonProcess, rss_kib
from omnimotion_vfx.daemon.protocol import decode, encode

MAX_MB = 4
TYPES = ["ping", "status", "capabilities", "list_jobs", "watch", "cancel", "resume", "fetch_result", "query_points", "submit", "bogus"]


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-(2**63), 2**64 - 1)
    if kind == 3:
        return rng.random() * 10 ** rng.randint(-3, 30)
    if kind == 4:
        return "".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(0, 20)))
    if kind == 5:
        return rng.randbytes(rng.randint(0, 20))
    if kind == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["v", "type", "id", "arrays", "job", "job_id", "points", "dtype", "shape"]): _random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}


def _valid(rng: random.Random) -> list[bytes]:
    msg_type = rng.choice(TYPES)
    fields = {"job_id": rng.choice(["nope", "", "x" * 80, "../../etc"])}
    arrays = {}
    if msg_type == "query_points":
        arrays["points"] = np.float32([[1, 2.5, 3.5]])
    if msg_type == "submit":
        fields["job"] = {"tracker": "chained-flow", "grid": 2}  # no plate: refused up front, never queued
        if rng.random() < 0.5:
            arrays["frames"] = np.zeros((1, 4, 4, 3), np.uint8)  # one frame: refused
    return [bytes(f) for f in encode(msg_type, rng.randint(0, 10**6), fields, arrays)]


def _mutate(rng: random.Random, frames: list[bytes]) -> list[bytes]:
    frames = list(frames)
    choice = rng.randrange(7)
    if choice == 0:  # flip bytes in one frame
        index = rng.randrange(len(frames))
        data = bytearray(frames[index])
        for _ in range(rng.randint(1, 4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        frames[index] = bytes(data)
    elif choice == 1:  # truncate a frame
        index = rng.randrange(len(frames))
        frames[index] = frames[index][: rng.randrange(len(frames[index]) + 1)]
    elif choice == 2 and len(frames) > 1:  # drop an array frame
        frames.pop(rng.randrange(1, len(frames)))
    elif choice == 3:  # an extra undeclared frame
        frames.append(rng.randbytes(rng.randint(0, 64)))
    elif choice == 4:  # replace or add one header field with a random value
        header = msgpack.unpackb(frames[0])
        header[rng.choice(["v", "type", "id", "arrays", "job", "job_id"])] = _random_value(rng)
        frames[0] = msgpack.packb(header)
    elif choice == 5:  # a lying array spec (huge, negative, wrong dtype)
        header = msgpack.unpackb(frames[0])
        header["arrays"] = [{"dtype": rng.choice(["<f4", "|O", "<f8", "S3", 7]),
                             "shape": rng.choice([[2**40, 2**40], [-1], [3], "x", [1] * 9])}]
        frames[0] = msgpack.packb(header)
    else:  # not msgpack at all
        frames = [rng.randbytes(rng.randint(0, 200)) for _ in range(rng.randint(1, 3))]
    return frames


def _fuzz_batch(sock: zmq.Socket, rng: random.Random, count: int) -> tuple[int, int]:
    """Send `count` messages, read until each got its answer; returns (replies, errors)."""
    for _ in range(count):
        sock.send_multipart(_mutate(rng, _valid(rng)) if rng.random() < 0.8 else _valid(rng))
    replies = errors = 0
    while replies < count and sock.poll(3000):
        message = decode(sock.recv_multipart())
        replies += 1
        errors += message.type == "error"
    return replies, errors


def test_fuzzed_daemon_keeps_answering_with_bounded_memory(tmp_path):
    rng = random.Random(20261125)
    with DaemonProcess(tmp_path / "jobs", "--max-message-mb", str(MAX_MB)) as daemon:
        context = zmq.Context.instance()
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(daemon.endpoint)
        try:
            sent = replies = errors = 0
            for _ in range(5):  # warm-up: allocator pools and caches settle before the baseline
                got, bad = _fuzz_batch(sock, rng, 100)
                sent, replies, errors = sent + 100, replies + got, errors + bad
            rss_before = rss_kib(daemon.pid)
            for _ in range(100):
                got, bad = _fuzz_batch(sock, rng, 100)
                sent, replies, errors = sent + 100, replies + got, errors + bad
            rss_after = rss_kib(daemon.pid)

            # a whole message over the limit (each frame under it) is answered with too_large
            half = np.zeros((MAX_MB << 20) * 3 // 4, np.uint8)
            sock.send_multipart(encode("status", "big", None, {"a": half, "b": half}), copy=False)
            assert sock.poll(5000)
            reply = decode(sock.recv_multipart())
            assert reply.type == "error" and reply.fields["code"] == "too_large" and reply.id == "big"
            # one frame over MAXMSGSIZE: libzmq drops that connection; the daemon goes on
            sock.send_multipart(encode("status", "huge", None, {"a": np.zeros((MAX_MB + 1) << 20, np.uint8)}), copy=False)
            assert not sock.poll(1000)
        finally:
            sock.close(0)

        with daemon.client() as client:
            status = client.status()
            assert client.list_jobs() == []  # nothing in the fuzz was a valid job
        assert daemon.process.poll() is None
        print(f"\nfuzz: sent {sent}, replies {replies}, errors {errors}, crashes 0, "
              f"RSS {rss_before} -> {rss_after} KiB; daemon pid {status['pid']}")
        assert replies == sent, f"{sent - replies} messages got no answer"
        assert errors > 0.8 * sent
        assert rss_after - rss_before < 16 * 1024, f"RSS grew {rss_after - rss_before} KiB over {sent} messages"
