"""Shared fixtures. Plate writers live in tests/plate_factory.py; add fixtures with names that say what they give."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _omnivfx_executable() -> str:
    beside_python = Path(sys.executable).parent / "omnivfx"
    found = str(beside_python) if beside_python.exists() else shutil.which("omnivfx")
    assert found, "the omnivfx console script is not installed; pip install -e ."
    return found


@pytest.fixture
def run_omnivfx(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run the installed `omnivfx` command as a user would (real process, real exit code, stderr captured)."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        full_env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMNIVFX_LOG_DIR=str(tmp_path))
        full_env.pop("OMNIVFX_RESULTS", None)  # results default to ./omnivfx under `cwd` unless a test sets it
        full_env.update(env or {})
        return subprocess.run(
            [_omnivfx_executable(), *map(str, args)], capture_output=True, text=True, cwd=cwd or tmp_path, env=full_env, timeout=timeout
        )

    return run


@pytest.fixture
def exr_plate_1001(tmp_path: Path) -> str:
    """Ten 96x64 half-float EXR frames numbered 1001-1010 of a texture moving (+2, +1) px per frame."""
    from plate_factory import write_plate

    return write_plate(tmp_path / "shot", count=10, first=1001)
