"""Permissions of the files omnivfx writes: what the user's umask allows, as `cp` or Nuke's own writes give.

Every atomic writer creates its temporary file with `tempfile.mkstemp`, which is always 0600, and `os.replace`
keeps that mode, so without this a colleague's Nuke could not read tracks.nk or the EXRs. `publish` sets the
mode a plain `open(path, "w")` would have had, then renames. Crash logs (cli/errors.py) stay 0600 on purpose.
"""

from __future__ import annotations

import os


def _umask_at_import() -> int:
    """Fallback where /proc is missing (macOS): os.umask can only be read by setting it, so read it once here,
    while importing, rather than racing other threads later."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _proc_umask() -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


_IMPORT_UMASK = _proc_umask()
_IMPORT_UMASK = _umask_at_import() if _IMPORT_UMASK is None else _IMPORT_UMASK


def current_umask() -> int:
    """The process umask, read without changing it (Linux: /proc/self/status; elsewhere: the one at import)."""
    mask = _proc_umask()
    return _IMPORT_UMASK if mask is None else mask


def new_file_mode() -> int:
    """The mode `open(path, "w")` gives a new file: 0o666 less the umask."""
    return 0o666 & ~current_umask()


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Give the finished temporary file the mode of a normally created file, then rename it over `path`."""
    os.chmod(tmp, new_file_mode())
    os.replace(tmp, path)
