"""CURVE: `omnivfx keys` makes the pairs, the daemon serves allowed keys and ignores every other client."""

from __future__ import annotations

import shutil
import time

import pytest
import zmq.auth

from daemon_support import DaemonProcess
from omnimotion_vfx.client import Client, DaemonUnavailable


def test_allowed_key_is_served_and_unknown_keys_are_refused(tmp_path, run_omnivfx):
    keys = tmp_path / "keys"
    made = run_omnivfx("keys", keys, "--client", "nuke-ws01")
    assert made.returncode == 0, made.stderr
    allowed = keys / "clients" / "nuke-ws01"
    assert (keys / "authorized_clients" / "nuke-ws01.key").is_file() and (allowed / "server.key").is_file()
    assert oct((allowed / "client.key_secret").stat().st_mode & 0o777) == "0o600"
    again = run_omnivfx("keys", keys, "--client", "nuke-ws01")
    assert again.returncode == 2 and "already holds" in again.stderr

    stranger = tmp_path / "stranger"  # a well-formed pair that nobody allowed
    stranger.mkdir()
    zmq.auth.create_certificates(str(stranger), "client")
    shutil.copyfile(keys / "server.key", stranger / "server.key")

    with DaemonProcess(tmp_path / "jobs", "--curve-keys", str(keys), client_args={"curve_keys": allowed}) as daemon:
        with Client(daemon.endpoint, curve_keys=allowed, timeout=2.0) as client:
            assert client.status()["protocol"] == 1 and client.list_jobs() == []
        for refused in ({"curve_keys": stranger}, {}):  # unknown key, and no encryption at all
            t0 = time.monotonic()
            with pytest.raises(DaemonUnavailable), Client(daemon.endpoint, timeout=0.7, retries=1, **refused) as client:
                client.status()
            assert time.monotonic() - t0 < 5
        status = run_omnivfx("status", "--connect", daemon.endpoint, "--curve-keys", allowed)
        assert status.returncode == 0, status.stderr
