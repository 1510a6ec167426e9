"""Errors that the command line maps to documented exit codes (see docs/cli.md).

Library code raises these instead of printing, so the CLI, the daemon and the batch runner can each report
them their own way: one line on stderr, an error message on the wire, a failed shot in a batch table.
"""

from __future__ import annotations


class OmnivfxError(Exception):
    """Base class: every subclass carries a one-line, user-facing message."""

    exit_code = 1


class InputError(OmnivfxError):
    """Bad usage or bad input (a plate, a query file, an option); the message names the problem and the fix."""

    exit_code = 2


class StaleFit(InputError):
    """Reading a results folder found no finished fit of its recorded settings (the engine raises it rather than
    train over the fit the results came from); the message says why."""


class Interrupted(OmnivfxError):
    """The run was stopped (SIGINT/SIGTERM/cancel) after saving what it had; running again resumes."""

    exit_code = 3
