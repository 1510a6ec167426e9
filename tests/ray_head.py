"""A private Ray head node started with the venv's `ray` CLI, for tests and benchmarks of `--ray-address`.

`ray start --head --block` is stopped by SIGTERM to that one process, which takes down only this cluster's
processes; `ray stop` would kill every Ray process on the machine, other runs' clusters included.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

RAY = str(Path(sys.executable).parent / "ray")
RAY_ENV = {"RAY_AUTH_MODE": "disabled"}  # a throwaway loopback cluster; its clients need the same mode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def ray_head(log_path: Path, num_cpus: int = 2, timeout: float = 90.0) -> Iterator[str]:
    """Yields the head's address (127.0.0.1:PORT) once `ray start` reports the runtime started."""
    temp_dir = tempfile.mkdtemp(prefix="ovray", dir="/tmp")  # short: Ray's socket paths must stay < 108 chars
    port = _free_port()
    env = dict(os.environ, **RAY_ENV, OMP_WAIT_POLICY="PASSIVE", RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="0")
    command = [RAY, "start", "--head", "--block", "--num-cpus", str(num_cpus), "--disable-usage-stats", "--port", str(port),
               "--node-ip-address", "127.0.0.1", "--include-dashboard", "false", "--temp-dir", temp_dir]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        while "Ray runtime started" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray start failed or hung:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(temp_dir, ignore_errors=True)
