"""A folder made read-only for a test, even for root (chattr +i where it exists; root ignores the mode bits)."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Iterator

import pytest


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """Make `folder` unwritable for the block and writable again after; skips the test where it stays writable."""
    folder.chmod(0o555)
    subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    try:
        if _writable(folder):
            pytest.skip("cannot make a read-only folder here")
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


def _writable(folder: Path) -> bool:
    try:
        (folder / "probe").write_text("")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True
