"""Deterministic fits (`trainer.deterministic`, the job's `--deterministic`): bit-identical results run to run.

The seeds were always fixed (`trainer.seed` seeds torch and the sampler); what made two fits differ is the order
of floating-point additions. On the CPU the backward of the couplings' per-point gather of per-frame features
(`time(codes)[frames]`, an index_put with accumulation) adds into the same rows from several threads with
atomic adds whose order changes from run to run; on CUDA atomics, cuDNN autotuning and cuBLAS workspaces do
the same. torch's deterministic mode makes those kernels ordered, at some cost in speed (docs/engine.md).

torch's switch is process-wide and the daemon's workers are threads, so it is held by a count: while any
deterministic fit runs in this process every fit runs deterministically, and the previous setting returns when
the last one ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator

import torch

CUBLAS_WORKSPACE_CONFIG = ":4096:8"  # a fixed cuBLAS workspace per handle, which torch's deterministic mode asks for

_lock = threading.Lock()
_holders = 0
_previous: tuple[bool, bool, bool, bool] | None = None


@contextlib.contextmanager
def deterministic_mode(enabled: bool, device: torch.device) -> Iterator[None]:
    """Run the block with torch's deterministic algorithms (and cuDNN autotuning off) when `enabled`.

    On CUDA the cuBLAS workspace setting must be in the environment before cuBLAS starts in this process: a fresh
    `omnivfx track` sets it here, before the model reaches the GPU."""
    if not enabled:
        yield
        return
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    _acquire()
    try:
        yield
    finally:
        _release()


def _acquire() -> None:
    global _holders, _previous
    with _lock:
        if _holders == 0:
            _previous = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
                         torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        _holders += 1


def _release() -> None:
    global _holders
    with _lock:
        _holders -= 1
        if _holders == 0 and _previous is not None:
            enabled, warn_only, benchmark, cudnn_deterministic = _previous
            torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
            torch.backends.cudnn.benchmark = benchmark
            torch.backends.cudnn.deterministic = cudnn_deterministic
