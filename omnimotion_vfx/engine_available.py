"""Whether the tracking engine (torch) is installed, asked before a command starts any long work.

torch is the `engine` extra (`pip install 'omnimotion-vfx[engine]'`): an export-only install (a render node
writing Nuke or 3DEqualizer files from results folders) leaves it out. `info`, `status`, `submit`, `keys` and
the track formats of `export` never import it; `track`, `pin`, `batch`, `serve` and the dense formats of
`export` (motion, stmap, mattes) call `require_engine` first, so a missing torch is one line and exit 2,
not a traceback after minutes of reading frames. This module itself imports nothing heavy.
"""

from __future__ import annotations

import importlib.util

from .errors import InputError

ENGINE_EXTRA = "omnimotion-vfx[engine]"


def engine_missing_message(command: str) -> str:
    """The one line for `omnivfx COMMAND` on an install without torch: what is missing and how to add it."""
    return f"omnivfx {command} needs the tracking engine (torch): pip install '{ENGINE_EXTRA}'"


def is_engine_missing(exc: BaseException) -> bool:
    """True for the ImportError of torch, or of one of its modules, not being installed."""
    return isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "torch"


def require_engine(command: str) -> None:
    """Raise the one-line InputError (exit 2) when torch is not installed; `command` as the user typed it, e.g.
    "track" or "export --format motion". Finds torch without importing it: milliseconds, not a second."""
    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a finder that refuses torch, or a half-imported module without a spec
        found = False
    if not found:
        raise InputError(engine_missing_message(command))
