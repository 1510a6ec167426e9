"""Turn library errors into one line on stderr and the documented exit codes (docs/cli.md).

0 success, 1 internal error (message + path of a log holding the traceback), 2 bad usage or bad input (also
a command that needs the tracking engine on an install without torch), 3 interrupted and resumable.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import traceback
from typing import Any, Callable

import click

from omnimotion_vfx.engine_available import engine_missing_message, is_engine_missing
from omnimotion_vfx.errors import OmnivfxError


def fail(message: str, code: int) -> None:
    click.echo(f"omnivfx: error: {message}", err=True)
    sys.exit(code)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OmnivfxError as exc:
            label = "interrupted" if exc.exit_code == 3 else "error"
            click.echo(f"omnivfx: {label}: {exc}" if label == "error" else f"omnivfx: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("omnivfx: interrupted; run the same command again to resume", err=True)
            sys.exit(3)
        except (SystemExit, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # an internal error: keep the traceback in a log, one line on screen
            if is_engine_missing(exc):  # a path that needs torch and has no require_engine() ahead of it
                fail(engine_missing_message(command.__name__), 2)
            log = _write_crash_log()
            click.echo(f"omnivfx: internal error: {type(exc).__name__}: {exc} (traceback in {log})", err=True)
            sys.exit(1)

    return wrapper


def _write_crash_log() -> str:
    fd, path = tempfile.mkstemp(prefix="omnivfx-crash-", suffix=".log", dir=os.environ.get("OMNIVFX_LOG_DIR"))
    with os.fdopen(fd, "w") as handle:
        handle.write(traceback.format_exc())
    return path
