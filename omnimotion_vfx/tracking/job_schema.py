"""The one definition of a tracking job: the `TrackJob` dataclass and the schema read from its fields.

Every edge reads this module: `omnivfx track`, `submit` and `pin` generate their job options from it
(cli/job_options.py), the daemon validates a submitted job with `check_job_fields`, the client checks its
arguments with the same function, and the `capabilities` message sends `job_schema()` to the host bridges.
A field declared on `TrackJob` appears everywhere; its `field(metadata=...)` only refines how (flag, help,
choices, which commands, whether it is a path). Standard library only: the client imports it inside Nuke.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError

DEFAULT_TRACKER = "omnimotion"
ORIGINS = ("top-left", "bottom-left")
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_COMMANDS = ("track", "submit")  # a field declared without `commands` is an option of these
PLATE_COMMANDS = ("track", "submit", "pin")  # plate and tracker settings pin shares


def _meta(help: str, *, commands: tuple[str, ...] = DEFAULT_COMMANDS, choices: tuple[str, ...] = (),
          path: str = "", flag: str | None = None, cli: bool = True) -> dict[str, Any]:
    """Field metadata. `path`: "file", "dir" or "any" for paths (made absolute by the client); `cli=False` keeps
    a field off the command line (inline data only the client sends)."""
    return {"help": help, "commands": commands, "choices": choices, "path": path, "flag": flag, "cli": cli}


@dataclass
class TrackJob:
    """Plain data (JSON-serialisable): also the farm job spec of `omnivfx track --job`."""

    plate: str = field(metadata=_meta("Frame pattern, folder of frames or video file.", commands=PLATE_COMMANDS, path="any"))
    frames: str | None = field(default=None, metadata=_meta(
        "Frame range to use, e.g. 1001-1100 (file frame numbers).", commands=PLATE_COMMANDS))
    queries: str | None = field(default=None, metadata=_meta(
        "CSV with header frame,x,y[,name] (pixels, see --origin).", path="file"))
    grid: int | None = field(default=None, metadata=_meta("Track an N x N grid of points instead of --queries."))
    grid_frame: int | None = field(default=None, metadata=_meta("Plate frame of the grid (default: first frame)."))
    out: str | None = field(default=None, metadata=_meta(
        "Results folder (default $OMNIVFX_RESULTS/<folder>_<name>; without it ./omnivfx/<folder>_<name> for track, "
        "<jobs dir>/<job id>/results for submit).", path="dir"))
    tracker: str = field(default=DEFAULT_TRACKER, metadata=_meta(
        "Tracker: omnimotion or chained-flow (seconds; docs/cli.md).", commands=PLATE_COMMANDS))
    preset: str = field(default="default", metadata=_meta(
        "Preset of the tracker (omnimotion: default, preview, volumetric, fast, paper, test; docs/engine.md).",
        commands=PLATE_COMMANDS))
    device: str = field(default="auto", metadata=_meta("Compute device.", commands=PLATE_COMMANDS, choices=DEVICES))
    layer: str | None = field(default=None, metadata=_meta(
        "EXR layer to track, e.g. 'beauty' (RGB channels by default).", commands=PLATE_COMMANDS))
    colorspace: str | None = field(default=None, metadata=_meta(
        "Plate colour space: SPACE (with $OCIO), CONFIG.ocio:SPACE or ocio://default:ACEScg (docs/colour.md).",
        commands=PLATE_COMMANDS))
    proxy: float = field(default=1.0, metadata=_meta(
        "Track at this fraction of the resolution, in (0, 1] (outputs stay full size).", commands=PLATE_COMMANDS))
    fit_minutes: float | None = field(default=None, metadata=_meta(
        "Deadline: end the engine's fit after this many minutes of fitting (docs/cli.md)."))
    deterministic: bool = field(default=False, metadata=_meta(
        "Bit-identical fit run to run on the same machine (seeded, deterministic algorithms; slower, docs/engine.md).",
        commands=PLATE_COMMANDS))
    origin: str = field(default="top-left", metadata=_meta(
        "Where y=0 of the query points is: top-left (y down, omnivfx) or bottom-left (y up, Nuke); "
        "converted at read time, results stay top-left.", choices=ORIGINS))
    export: str | None = field(default=None, metadata=_meta(
        "Then export, e.g. nuke,3de,blender (see `omnivfx export --help`; mattes need `omnivfx export`)."))
    keep_cache: bool = field(default=False, metadata=_meta(
        "Keep the flow cache (RESULTS/work/flow) after success; it is removed otherwise (see `omnivfx clean`).",
        commands=(*DEFAULT_COMMANDS, "pin")))
    query_points: list[list[float]] | None = field(default=None, repr=False, metadata=_meta(
        "Inline (frame, x, y) query rows, in the --origin convention.", cli=False))
    query_names: list[str] | None = field(default=None, repr=False, metadata=_meta("Names of the inline rows.", cli=False))

    def __post_init__(self) -> None:
        check_job_fields(dataclasses.asdict(self), "")

    @classmethod
    def from_json_file(cls, path: str) -> "TrackJob":
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read job spec {path}: {exc}; it must be a JSON object of TrackJob fields") from None
        return cls.from_dict(data, source=path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "job") -> "TrackJob":
        if not isinstance(data, dict):
            raise InputError(f"{source}: a job is a JSON object of TrackJob fields")
        check_job_fields(data, source)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FieldSpec:
    """One job field as every edge sees it."""

    name: str
    kind: str  # "str", "int", "float", "bool", "list"
    default: Any
    required: bool
    help: str
    flag: str  # the CLI option, e.g. --fit-minutes
    choices: tuple[str, ...]
    commands: tuple[str, ...]  # CLI commands that take it as an option ('plate' is their argument instead)
    path: str  # "file", "dir" or "any" for paths: made absolute by the client, absolute on the daemon's side; else ""
    optional: bool  # None is allowed

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["choices"], data["commands"] = list(self.choices), list(self.commands)
        return data


_KINDS = ("str", "int", "float", "bool", "list")


def _kind(annotation: str) -> tuple[str, bool]:
    """(kind, None allowed) of a field annotation like "float | None" or "list[str] | None".

    Under `from __future__ import annotations` the annotations are strings; they are read, not evaluated, because
    evaluating `str | None` fails before Python 3.10 and Nuke 14 runs this module on 3.9."""
    parts = [part.strip() for part in annotation.split("|")]
    optional = "None" in parts
    (base,) = [part for part in parts if part != "None"]
    kind = base.split("[")[0]
    if kind not in _KINDS:
        raise TypeError(f"TrackJob field annotation {annotation!r}: the schema knows {', '.join(_KINDS)}")
    return kind, optional


def _build_schema() -> dict[str, FieldSpec]:
    specs: dict[str, FieldSpec] = {}
    for f in dataclasses.fields(TrackJob):
        meta = dict(_meta(""), **f.metadata)
        kind, optional = _kind(f.type)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if required else (f.default if f.default is not dataclasses.MISSING else f.default_factory())
        specs[f.name] = FieldSpec(
            name=f.name, kind=kind, default=default, required=required,
            help=meta["help"] or f.name.replace("_", " ").capitalize() + ".",
            flag=meta["flag"] or "--" + f.name.replace("_", "-"), choices=tuple(meta["choices"]),
            commands=tuple(meta["commands"]) if meta["cli"] else (), path=meta["path"], optional=optional,
        )
    return specs


JOB_FIELDS: dict[str, FieldSpec] = _build_schema()
# `Client.submit` keywords of the job fields whose names its inline arrays take (`frames=`, `queries=`).
CLIENT_KEYWORDS = {"frames": "frame_range", "queries": "queries_csv"}


def client_keywords(fields: dict[str, Any]) -> dict[str, Any]:
    """Job fields -> `Client.submit` keywords (the CLI's `submit` passes its options through this)."""
    return {CLIENT_KEYWORDS.get(name, name): value for name, value in fields.items()}


def job_schema() -> list[dict[str, Any]]:
    """The schema as plain data, for the `capabilities` message."""
    return [spec.to_dict() for spec in JOB_FIELDS.values()]


def check_job_fields(data: dict[str, Any], source: str = "job", require_plate: bool = True) -> None:
    """Unknown fields, wrong types, values outside their choices or ranges: one InputError naming each bad field."""
    problems = []
    unknown = [name for name in data if name not in JOB_FIELDS]
    if unknown:
        problems.append(f"unknown field(s) {', '.join(map(str, unknown))}; allowed: {', '.join(JOB_FIELDS)}")
    for name, spec in JOB_FIELDS.items():
        if name not in data:
            if spec.required and require_plate:
                problems.append(f"the field '{name}' is required ({spec.help.rstrip('.')})")
            continue
        problem = _field_problem(spec, data[name])
        if problem:
            problems.append(problem)
    given = [name for name in ("queries", "grid", "query_points") if data.get(name) is not None]
    if len(given) > 1:
        problems.append(f"give only one of --queries, --grid or inline query points (the job has {' and '.join(given)})")
    if problems:
        raise InputError((f"{source}: " if source else "") + "; ".join(problems))


def _field_problem(spec: FieldSpec, value: Any) -> str | None:
    """One sentence naming the field (and its flag) when `value` does not fit it."""
    problem = _value_problem(spec, value)
    return f"{spec.name} ({spec.flag}) {problem}" if problem else _range_problem(spec, value)


def _value_problem(spec: FieldSpec, value: Any) -> str | None:
    if value is None:
        return None if spec.optional else "must not be empty"
    if spec.kind == "str" and not isinstance(value, str):
        return f"must be a string, got {value!r}"
    if spec.kind == "bool" and not isinstance(value, bool):
        return f"must be true or false, got {value!r}"
    if spec.kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"must be an integer, got {value!r}"
    if spec.kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"must be a number, got {value!r}"
    if spec.kind == "list" and not isinstance(value, list):
        return f"must be a list, got {type(value).__name__}"
    if spec.choices and value not in spec.choices:
        return f"must be one of {', '.join(spec.choices)}, got {value!r}"
    return None


def _range_problem(spec: FieldSpec, value: Any) -> str | None:
    """The few fields whose values have bounds beyond their type."""
    name, flag = spec.name, spec.flag
    if value is None:
        return None
    if name == "proxy" and not 0 < value <= 1:
        return f"{flag} {value:g} must be in (0, 1], e.g. 0.5 for half resolution"
    if name == "fit_minutes" and not value > 0:
        return f"fit_minutes ({flag}) must be a number of minutes above 0, like 5; got {value!r}"
    if name == "grid" and value < 1:
        return f"{flag} {value} must be at least 1"
    if name == "query_names" and not all(isinstance(n, str) for n in value):
        return f"{name} must be a list of strings"
    if name == "query_points" and not all(isinstance(r, (list, tuple)) and len(r) == 3 for r in value):
        return f"{name} must be a list of (frame, x, y) rows"
    return None
