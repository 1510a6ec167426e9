"""Reading .npz files from several threads at once.

numpy parses each array's header with `ast.literal_eval`, and CPython 3.11 can raise "SystemError: AST
constructor recursion depth mismatch" when two threads build syntax trees at the same moment (cpython
gh-106905). The flow cache is read from a thread pool, and the daemon's workers read results and trajectories
side by side: on 2026-12-06 the error stopped a benchmark reading the flow cache after seven clips. Here the
members are inflated without a lock (zlib releases the GIL) and only the header parse and the copy out of
memory are serialised.
"""

from __future__ import annotations

import io
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

_HEADER_LOCK = threading.Lock()  # process-wide: every thread that parses .npy headers through here


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file by name, as `np.load` gives them, safe from any thread. A file that is not an
    intact .npz archive raises ValueError (what `np.load` raises for most damage), a missing one OSError."""
    try:
        with zipfile.ZipFile(path) as archive:
            raw = {name[:-4]: archive.read(name) for name in archive.namelist() if name.endswith(".npy")}
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ValueError(f"{path} is not an intact .npz archive ({error})") from None
    arrays = {}
    with _HEADER_LOCK:
        for name, data in raw.items():
            arrays[name] = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    return arrays
