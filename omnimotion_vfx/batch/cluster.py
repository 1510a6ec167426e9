"""Connecting to a Ray cluster (or starting a private local one) and sizing each shot's resource request."""

from __future__ import annotations

import logging
import math
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import InputError


@dataclass(frozen=True)
class ShotResources:
    """What each shot asks the cluster for. Fractional GPUs let several small shots share one card."""

    gpus: float = 1.0
    cpus: float = 1.0
    retries: int = 2  # extra attempts after a worker death or an unexpected exception (never after bad input)

    def __post_init__(self) -> None:
        if not (self.gpus >= 0 and self.cpus > 0 and self.retries >= 0):
            raise InputError(f"bad shot resources (gpus {self.gpus}, cpus {self.cpus}, retries {self.retries}); gpus >= 0, cpus > 0, retries >= 0")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("Ray is not installed; pip install 'omnimotion-vfx[ray]' (or 'ray>=2.40')") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Join the cluster at `address` ('auto' or HOST:PORT), or start a local one when it is None.

    Returns True when this call initialised Ray (the caller then owns the shutdown); a process that already
    initialised Ray (the daemon, a test) keeps its connection. Worker output stays in the Ray logs
    (log_to_driver=False) so that the driver's stdout carries only the JSON progress stream.
    A local Ray keeps Ray's token authentication (its ports listen on the node's address, and a Ray
    without auth runs any code sent to it); RAY_AUTH_MODE=disabled in the environment opts out.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        _check_reachable(ray, address)
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, **quiet)
    except ray.exceptions.AuthenticationError as exc:
        raise InputError(
            f"the Ray cluster at {address!r} refused this client's token ({exc.message}); put the cluster's token in "
            "RAY_AUTH_TOKEN or ~/.ray/auth_token (see docs/batch.md)"
        ) from None
    except ConnectionError as exc:
        raise InputError(
            f"cannot reach a Ray cluster at {address!r} ({' '.join(str(exc).split())[:200]}); start one with "
            "`ray start --head` or leave out --ray-address to run on this machine"
        ) from None
    return True


def _check_reachable(ray: Any, address: str, timeout: float = 5.0) -> None:
    """Ray retries an address where nothing listens for about 12 minutes; one TCP connect tells in seconds.

    Tries where Ray itself would connect (its canonical form: 'auto' read from the last `ray start`, loopback
    swapped for the node's address); when that cannot be worked out, Ray's own error is left to speak.
    """
    try:
        target = ray._private.services.canonicalize_bootstrap_address(address)
        host, _, port = target.rpartition(":")
        endpoint = (host.strip("[]"), int(port))
    except Exception:  # 'ray://' client addresses, no cluster for 'auto', a Ray without this helper
        return
    try:
        socket.create_connection(endpoint, timeout).close()
    except OSError as exc:
        raise InputError(
            f"cannot reach a Ray cluster at {address!r} ({target}: {exc.strerror or exc}); start one with "
            "`ray start --head` or leave out --ray-address to run on this machine"
        ) from None


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Connected for the block; shuts Ray down afterwards only if the block started it."""
    ray = import_ray()
    started = connect(address, num_cpus)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def task_options(resources: ShotResources) -> tuple[dict[str, Any], str | None]:
    """Ray task options for one shot, and a note for the user when the request had to be adapted.

    GPUs are asked for only when a live node has one; otherwise shots fall back to CPU workers (the engine's
    device 'auto' then picks the CPU). A request no node can ever satisfy would wait forever in Ray, so it is
    an InputError instead.
    """
    ray = import_ray()
    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    most_gpus = max((node.get("GPU", 0.0) for node in nodes), default=0.0)
    most_cpus = max((node.get("CPU", 0.0) for node in nodes), default=0.0)
    note = None
    gpus = resources.gpus
    if gpus > 0 and most_gpus == 0:
        gpus, note = 0.0, "no GPU in the Ray cluster; shots run on CPU workers"
    elif gpus > most_gpus:
        raise InputError(f"--gpus-per-shot {gpus:g} is more than any node has ({most_gpus:g}); ask for at most {most_gpus:g}")
    elif gpus > 1 and not float(gpus).is_integer():
        raise InputError(f"--gpus-per-shot {gpus:g}: above 1 Ray needs a whole number of GPUs; use {math.ceil(gpus)}")
    if resources.cpus > most_cpus:
        raise InputError(f"--cpus-per-shot {resources.cpus:g} is more than any node has ({most_cpus:g}); ask for at most {most_cpus:g}")
    options = {
        "num_gpus": gpus,
        "num_cpus": resources.cpus,
        "max_retries": resources.retries,
        "retry_exceptions": True,  # expected failures (bad input, stop) are returned, not raised, so never retried
    }
    return options, note
