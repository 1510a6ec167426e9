"""Daemon transport figures: status round-trip latency and array throughput over loopback, with and without copies.

    nice -n 10 .venv/bin/python benchmarks/daemon_transfer.py [--requests 500] [--repeats 5]

1. Starts a real `omnivfx serve` on a free port and times `Client.status()` round trips (median, p90).
2. Sends a 100x480x854 float16 array (82 MB: a 100-frame 480p single-channel plate) from a DEALER to
   a ROUTER in another process through the wire codec (`protocol.encode`/`decode`), which acknowledges it;
   once with `copy=False` on both sides (buffers handed to libzmq, numpy views on receipt) and once with
   `copy=True`. Throughput = array bytes / (send + ack) time, median of the repeats.
Writes benchmarks/out/daemon_transfer.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from omnimotion_vfx.client import Client, DaemonUnavailable
from omnimotion_vfx.daemon.protocol import decode, encode

SHAPE = (100, 480, 854)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_latency(requests: int) -> dict[str, float]:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory() as jobs:
        omnivfx = str(Path(sys.executable).parent / "omnivfx")
        daemon = subprocess.Popen([omnivfx, "serve", "--bind", endpoint, "--jobs-dir", jobs], stderr=subprocess.DEVNULL)
        try:
            with Client(endpoint, timeout=2.0) as client:
                for _ in range(50):
                    try:
                        client.status()
                        break
                    except DaemonUnavailable:
                        continue
                times = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    client.status()
                    times.append(time.perf_counter() - t0)
        finally:
            daemon.terminate()
            daemon.wait(30)
    times.sort()
    return {"requests": requests, "median_ms": 1000 * statistics.median(times), "p90_ms": 1000 * times[int(0.9 * len(times))]}


def _echo_server(endpoint: str, copy: bool, count: int) -> None:
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.bind(endpoint)
    for _ in range(count):
        frames = router.recv_multipart(copy=copy)
        message = decode(frames[1:])
        array = message.array("frames")
        router.send_multipart([frames[0], *encode("ack", message.id, {"first": float(array.flat[0])})])
    router.close(linger=1000)
    context.term()


def throughput(copy: bool, repeats: int) -> dict[str, float]:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    array = np.random.default_rng(0).random(SHAPE, dtype=np.float32).astype(np.float16)
    server = multiprocessing.get_context("spawn").Process(target=_echo_server, args=(endpoint, copy, repeats + 1))
    server.start()
    context = zmq.Context()
    dealer = context.socket(zmq.DEALER)
    dealer.connect(endpoint)
    seconds = []
    try:
        for index in range(repeats + 1):  # the first one warms up connection and allocator
            t0 = time.perf_counter()
            dealer.send_multipart(encode("submit", index, None, {"frames": array}), copy=copy)
            reply = decode(dealer.recv_multipart(copy=copy))
            elapsed = time.perf_counter() - t0
            assert reply.fields["first"] == float(array.flat[0])
            if index:
                seconds.append(elapsed)
    finally:
        dealer.close(linger=0)
        context.term()
        server.join(30)
    median = statistics.median(seconds)
    return {"copy": copy, "bytes": array.nbytes, "median_s": median, "gb_per_s": array.nbytes / median / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    report = {
        "status_latency": status_latency(args.requests),
        "throughput_zero_copy": throughput(False, args.repeats),
        "throughput_copy": throughput(True, args.repeats),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    out = Path(__file__).parent / "out" / "daemon_transfer.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    latency = report["status_latency"]
    print(f"status round trip: median {latency['median_ms']:.3f} ms, p90 {latency['p90_ms']:.3f} ms over {latency['requests']}")
    for key in ("throughput_zero_copy", "throughput_copy"):
        row = report[key]
        print(f"{key}: {row['bytes'] / 1e6:.1f} MB float16 in {row['median_s'] * 1000:.1f} ms = {row['gb_per_s']:.2f} GB/s")
    print(f"load average {report['load_average']} on {report['cpu_count']} CPUs; written {out}")


if __name__ == "__main__":
    main()
