"""Test helpers for the batch tests: tiny PNG plates, and trackers that die, fail or run slowly.

Ray workers import this module through the cluster's `worker_process_setup_hook` (see `register`), so the
test trackers exist in every worker without any hook in the product code.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from omnimotion_vfx.tracking.builtin import build_chained_flow
from omnimotion_vfx.tracking.registry import register_tracker

CHECKPOINT = "test_checkpoint.json"


def write_plate(folder: Path, frames: int = 6, size: int = 64, seed: int = 0) -> str:
    """A blocky random texture drifting right by one pixel a frame, as 8-bit PNGs numbered from 1001."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    blocks = rng.random((size // 4, (size + frames) // 4 + 1, 3)).astype(np.float32)
    texture = np.kron(blocks, np.ones((4, 4, 1), np.float32))
    for i in range(frames):
        path = str(folder / f"plate.{1001 + i:04d}.png")
        image = np.ascontiguousarray(texture[:, frames - i : frames - i + size])
        out = oiio.ImageOutput.create(path)
        out.open(path, oiio.ImageSpec(size, size, 3, oiio.UINT8))
        out.write_image(image)
        out.close()
    return str(folder / "plate.%04d.png")


def _checkpoint(context) -> tuple[Path, dict]:
    path = Path(context.work_dir) / CHECKPOINT
    return path, json.loads(path.read_text()) if path.is_file() else {}


@register_tracker("test-killed-once")
def build_killed_once(video, geometry, context):
    """First attempt: checkpoints half the work, then its process is SIGKILLed. Next attempt resumes."""
    path, state = _checkpoint(context)
    if not state:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"step": len(video) // 2, "pid": os.getpid()}))
        os.kill(os.getpid(), signal.SIGKILL)
    tracker, config = build_chained_flow(video, geometry, context)
    return tracker, dict(config, resumed_from=state)


@register_tracker("test-killed-always")
def build_killed_always(video, geometry, context):
    """Every attempt's process is SIGKILLed (a node that keeps running out of memory)."""
    os.kill(os.getpid(), signal.SIGKILL)


@register_tracker("test-fails-once")
def build_fails_once(video, geometry, context):
    """First attempt raises an unexpected error (not bad input), which Ray retries."""
    path, state = _checkpoint(context)
    if not state:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"failed": True}))
        raise RuntimeError("simulated out-of-memory")
    return build_chained_flow(video, geometry, context)


@register_tracker("test-always-fails")
def build_always_fails(video, geometry, context):
    raise RuntimeError("simulated driver crash")


@register_tracker("test-slow")
def build_slow(video, geometry, context):
    """Steps of 0.1 s, stoppable: on stop it saves the step reached and raises Interrupted; resumes from it."""
    path, state = _checkpoint(context)
    steps = 30
    start = state.get("step", 0)
    context.progress.begin("test-slow", steps)
    for step in range(start, steps):
        if context.stop.requested:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"step": step}))
            context.stop.raise_if_requested(f"checkpoint at step {step}")
        time.sleep(0.1)
        context.progress.update(step + 1)
    context.progress.end()
    tracker, config = build_chained_flow(video, geometry, context)
    return tracker, dict(config, resumed_from=start)


def register() -> None:
    """Ray's worker_process_setup_hook: importing this module registered the trackers."""
