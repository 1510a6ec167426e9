"""A real `omnivfx serve` process on a free loopback port, for the daemon tests (tests/test_daemon_*.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from omnimotion_vfx.client import Client, DaemonUnavailable

OMNIVFX = str(Path(sys.executable).parent / "omnivfx")
ENV = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", PYTHONUNBUFFERED="1")
ENV.pop("OMNIVFX_RESULTS", None)  # without it a job with no `out` keeps its results in <jobs>/<id>/results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    """VmRSS of a process from /proc (KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


class DaemonProcess:
    """`omnivfx serve` in a subprocess; `stop()` sends SIGTERM and returns the exit code."""

    def __init__(self, jobs_dir: Path, *extra: str, port: int | None = None, client_args: dict | None = None, env: dict | None = None) -> None:
        self.client_args = client_args or {}
        self.endpoint = f"tcp://127.0.0.1:{port or free_port()}"
        self.jobs_dir = jobs_dir
        self.log_path = jobs_dir.parent / f"serve-{self.endpoint.rsplit(':', 1)[1]}.log"
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [OMNIVFX, "serve", "--bind", self.endpoint, "--jobs-dir", str(jobs_dir), "--heartbeat", "0.25", *extra],
            stdout=self._log, stderr=subprocess.STDOUT,
            # a studio's results root beside the jobs folder, so tests know where a job without `out` writes
            env={**ENV, "OMNIVFX_RESULTS": str(jobs_dir.parent / "omnivfx"), **(env or {})},
            cwd=jobs_dir.parent,
        )
        self.pid = self.process.pid

    def wait_ready(self, timeout: float = 20.0) -> "DaemonProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"daemon exited early:\n{self.log()}"
            try:
                with Client(self.endpoint, timeout=0.5, retries=0, **self.client_args) as client:
                    client.status()
                return self
            except DaemonUnavailable:
                continue
        raise AssertionError(f"daemon did not answer within {timeout} s:\n{self.log()}")

    def client(self, **kwargs) -> Client:
        kwargs.setdefault("timeout", 2.0)
        return Client(self.endpoint, **kwargs)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()

    def __enter__(self) -> "DaemonProcess":
        return self.wait_ready()

    def __exit__(self, *exc) -> None:
        self.kill()
