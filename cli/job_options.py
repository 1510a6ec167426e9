"""Click options generated from the job schema (omnimotion_vfx/tracking/job_schema.py), so `track`, `submit`
and `pin` take every job field they use, with the same flag, help and checks, and a new field appears in each
once it is declared on `TrackJob`."""

from __future__ import annotations

from typing import Any, Callable

import click

from omnimotion_vfx.tracking.job_schema import JOB_FIELDS, FieldSpec

_CLICK_TYPES = {"int": int, "float": float, "str": str}


def _option(spec: FieldSpec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Every option defaults to None (unset): only what the user passed becomes a job field, the rest keeps the
    dataclass default (for `submit`, the daemon's)."""
    shown = f" [default: {spec.default}]" if spec.default is not None else ""
    if spec.kind == "bool":
        flag = spec.flag[2:]
        return click.option(f"--{flag}/--no-{flag}", spec.name, default=None, help=spec.help + shown)
    kind = click.Choice(spec.choices) if spec.choices else _CLICK_TYPES[spec.kind]
    if spec.path:
        kind = click.Path(dir_okay=spec.path != "file", file_okay=spec.path != "dir")
    return click.option(spec.flag, spec.name, type=kind, default=None, help=spec.help + shown)


def job_options(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the options of every job field whose schema lists `command` (the plate is the argument)."""
    specs = [s for s in JOB_FIELDS.values() if command in s.commands and s.name != "plate"]

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for spec in reversed(specs):
            function = _option(spec)(function)
        return function

    return decorate


def job_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The job fields among a command's parsed options that the user set; pops them from `options`."""
    return {name: value for name in list(options) if name in JOB_FIELDS and (value := options.pop(name)) is not None}
