"""Tracking accuracy on clips with exact ground truth, TAP-Vid protocol (docs/evaluation.md).

Prints, for each query mode (strided and first by default), one table: per clip and tracker AJ, <delta_avg, OA
(percent, higher is better), TC (256-raster pixels, lower is better), end<d (<delta_avg at the clip's last
frame of queries from earlier frames) and seconds, then the mean and the median per tracker. On clips of 100
frames or more it adds the long-range table: frame-0 queries scored at the last frame (share within 1-16 px,
median error, visibility right there). Every tracker runs once per clip; its seconds include its own flow.
The baselines are measured in the same run, so numbers are compared on the same machine load. Writes the rows
as JSON to benchmarks/out/. Run alone on the CPU (or with `nice -n 10` on a shared machine):

    .venv/bin/python benchmarks/accuracy.py --suite rendered --tracker flow-fusion,omnimotion:preview,omnimotion:default
    .venv/bin/python benchmarks/accuracy.py --suite standard --tracker chained-flow
    .venv/bin/python benchmarks/accuracy.py --suite tiny --tracker omnimotion:fast,omnimotion:preview
    .venv/bin/python benchmarks/accuracy.py --suite rendered --only 256 --tracker chained-flow --baselines '' --flow-backend torch

`rendered` is the development suite (3-D scenes rendered by Blender on first use into the cache,
benchmarks/render_suite.py); `tiny`, `standard` and `long` are the planar smoke suites. A tracker may carry its
own preset (`NAME:PRESET`); the others, baselines included, run with `--preset`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from omnimotion_vfx.errors import InputError  # noqa: E402
from omnimotion_vfx.evaluation.baselines import evaluation_tracker_names  # noqa: E402
from omnimotion_vfx.evaluation.rendered.recipes import RENDERED_SUITES  # noqa: E402
from omnimotion_vfx.evaluation.runner import LAST, evaluate_modes, prepare_clip  # noqa: E402
from omnimotion_vfx.evaluation.suite import SUITES, clips_matching, suite  # noqa: E402
from omnimotion_vfx.tracking.registry import environment_overrides  # noqa: E402

METRICS = ("AJ", "delta_avg", "OA", "TC", "end_delta", "seconds")
HEADER = ("AJ", "<d_avg", "OA", "TC", "end<d", "s")
LONG_METRICS = ("within_1", "within_2", "within_4", "within_8", "within_16", "delta_avg", "median_px", "visibility", "endpoints", "seconds")
LONG_HEADER = ("<1", "<2", "<4", "<8", "<16", "<d_avg", "median px", "vis. right %", "endpoints", "s")
PLANAR_BASELINES = "chained-flow,direct-flow"
RENDERED_BASELINES = "chained-flow,flow-fusion"


def tracker_runs(requested: str, preset: str, baselines: str) -> list[tuple[str, str, str]]:
    """(tracker, preset, label) for each requested `NAME[:PRESET]`, then the baselines not already named, at
    `preset`. A run at the shared preset is labelled by its name alone."""
    runs = []
    for item in (part.strip() for part in requested.split(",")):
        if item:
            name, _, own = item.partition(":")
            runs.append((name, own or preset, item if own else name))
    extra = [name.strip() for name in baselines.split(",") if name.strip()]
    known = evaluation_tracker_names()
    for name in [name for name, _, _ in runs] + extra:
        if name not in known:
            raise InputError(f"unknown tracker {name!r}; choose from {', '.join(known)}")
    named = {name for name, _, _ in runs}
    return runs + [(b, preset, b) for b in extra if b not in named]


def format_row(label: str, tracker: str, row: dict, width: int, metrics: tuple[str, ...]) -> str:
    cells = [f"{row[m]:.2f}" if m == "TC" else f"{row[m]:.0f}" if m == "endpoints" else f"{row[m]:.1f}" for m in metrics]
    return f"| {label:<{width}} | {tracker} | " + " | ".join(cells) + " |"


def summary(rows: list[dict], tracker: str, reduce: Callable[[list[float]], float], metrics: tuple[str, ...]) -> dict:
    mine = [r for r in rows if r["tracker"] == tracker]
    return {m: float(reduce([r[m] for r in mine])) for m in metrics}


def print_table(rows: list[dict], trackers: list[str], title: str, metrics: tuple[str, ...] = METRICS,
                header: tuple[str, ...] = HEADER) -> None:
    labels = [f"{row['clip']} ({row['frames']}f {row['size']})" for row in rows]
    width = max(len(label) for label in labels)
    print(f"\n{title}")
    print(f"| {'clip':<{width}} | tracker | " + " | ".join(header) + " |")
    print("|" + "---|" * (len(header) + 2))
    for label, row in zip(labels, rows):
        print(format_row(label, row["tracker"], row, width, metrics))
    for label, reduce in (("mean", np.nanmean), ("median", np.nanmedian)):
        for tracker in trackers:
            print(format_row(f"**{label}**", tracker, summary(rows, tracker, reduce, metrics), width, metrics))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="rendered", choices=sorted(SUITES))
    parser.add_argument("--tracker", default="chained-flow",
                        help="NAME or NAME:PRESET, comma-separated; the baselines are added")
    parser.add_argument("--baselines", default=None,
                        help=f"trackers always measured in the same run (default: {RENDERED_BASELINES} on rendered suites, "
                             f"{PLANAR_BASELINES} on planar ones; '' for none)")
    parser.add_argument("--preset", default="default", help="preset of every tracker named without one (e.g. preview, paper)")
    parser.add_argument("--clips", type=int, default=None, help="only the first N clips of the suite")
    parser.add_argument("--only", default=None, help="only the clips whose name contains one of these comma-separated parts, e.g. -480")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"), help="device passed to every tracker")
    parser.add_argument("--flow-backend", default=None, choices=("dis", "torch", "raft"),
                        help="flow backend of every tracker that computes flow (the flow.backend override, docs/flow.md)")
    parser.add_argument("--query-mode", default="strided,first", help="TAP-Vid query modes to score, comma-separated")
    parser.add_argument("--dense", action="store_true",
                        help="also score each tracker's motion field at the same points, without the queries in it "
                             "(what motion vectors, STMaps, mattes and pins give between tracks), as 'NAME dense'")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"), help="folder for the JSON results")
    args = parser.parse_args(argv)
    baselines = args.baselines if args.baselines is not None else (
        RENDERED_BASELINES if args.suite in RENDERED_SUITES else PLANAR_BASELINES)
    modes = tuple(mode.strip() for mode in args.query_mode.split(",") if mode.strip())
    try:
        if not modes or any(mode not in ("strided", "first") for mode in modes):
            raise InputError(f"--query-mode takes strided, first or both (comma-separated), not {args.query_mode!r}")
        runs = tracker_runs(args.tracker, args.preset, baselines)
        if not runs:
            raise InputError("no tracker to run: name one with --tracker or keep the baselines")
        clips = clips_matching(args.suite, args.only) if args.only else suite(args.suite)
        if args.flow_backend:  # the runner hands OMNIVFX_ENGINE_OVERRIDES to every tracker
            overrides = environment_overrides() | {"flow.backend": args.flow_backend}
            os.environ["OMNIVFX_ENGINE_OVERRIDES"] = json.dumps(overrides)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clips = clips[: args.clips] if args.clips else clips
    rows: list[dict] = []
    started = time.perf_counter()
    for spec in clips:
        try:
            clip = prepare_clip(spec, modes[0])
        except InputError as exc:  # e.g. a rendered clip to render without Blender installed
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for tracker, preset, label in runs:
            scored = evaluate_modes(clip, tracker, preset, args.device, modes, dense=args.dense)
            rows += [dict(row, tracker=label + (" dense" if key.endswith(":dense") else "")) for key, row in scored.items()]
            first = scored[modes[0]]
            print(f"  {spec.name} {label}: AJ {first['AJ']:.1f} ({modes[0]}) TC {first['TC']:.2f} in {first['seconds']:.1f} s",
                  file=sys.stderr, flush=True)
    labels = [label for _, _, label in runs]
    labels += [f"{label} dense" for label in labels if any(r["tracker"] == f"{label} dense" for r in rows)]
    context = (f"preset {args.preset}, device {args.device}, flow {args.flow_backend or 'as preset'}, {os.cpu_count()} cores, "
               f"{time.perf_counter() - started:.0f} s in all")
    for mode in modes:
        print_table([r for r in rows if r["mode"] == mode], labels,
                    f"Suite '{args.suite}' ({len(clips)} clips), query mode {mode}, {context}")
    long_rows = [r for r in rows if r["mode"] == LAST]
    if long_rows:
        print_table(long_rows, labels, "Long range: frame-0 queries scored at the last frame (256-raster px)",
                    LONG_METRICS, LONG_HEADER)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"accuracy_{args.suite}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"suite": args.suite, "preset": args.preset, "flow_backend": args.flow_backend, "query_modes": list(modes),
                                "trackers": labels, "rows": rows}, indent=1))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
