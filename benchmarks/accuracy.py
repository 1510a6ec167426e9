"""Tracking accuracy on synthetic plates with exact ground truth, TAP-Vid protocol (docs/evaluation.md).

Prints one table: per clip and tracker AJ, <delta_avg, OA (percent, higher is better), TC (256-raster pixels,
lower is better), end<d (<delta_avg at the clip's last frame of queries from earlier frames: long-range drift)
and seconds, then the mean and the median per tracker. The paper's flow baselines
(chained-flow, direct-flow) are always measured in the same run, so numbers are compared on the same machine
load. Writes the rows as JSON to benchmarks/out/. Run with `nice -n 10` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/accuracy.py --suite standard --tracker chained-flow
    nice -n 10 .venv/bin/python benchmarks/accuracy.py --suite tiny --tracker omnimotion --preset preview
    nice -n 10 .venv/bin/python benchmarks/accuracy.py --suite tiny --tracker omnimotion:fast,omnimotion:preview

A tracker may carry its own preset (`NAME:PRESET`); the others, baselines included, run with `--preset`, so the
engine's presets can be compared with the baselines at their own default flow settings in one run.
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
from omnimotion_vfx.evaluation.baselines import BASELINES, evaluation_tracker_names  # noqa: E402
from omnimotion_vfx.evaluation.runner import evaluate, prepare_clip  # noqa: E402
from omnimotion_vfx.evaluation.suite import SUITES, suite  # noqa: E402

METRICS = ("AJ", "delta_avg", "OA", "TC", "end_delta", "seconds")
HEADER = ("AJ", "<d_avg", "OA", "TC", "end<d", "s")


def tracker_runs(requested: str, preset: str) -> list[tuple[str, str, str]]:
    """(tracker, preset, label) for each requested `NAME[:PRESET]`, then the baselines not already named, at
    `preset`. A run at the shared preset is labelled by its name alone."""
    runs = []
    for item in (part.strip() for part in requested.split(",")):
        if item:
            name, _, own = item.partition(":")
            runs.append((name, own or preset, item if own else name))
    known = evaluation_tracker_names()
    for name, _, _ in runs:
        if name not in known:
            raise InputError(f"unknown tracker {name!r}; choose from {', '.join(known)}")
    named = {name for name, _, _ in runs}
    return runs + [(b, preset, b) for b in BASELINES if b not in named]


def format_row(label: str, tracker: str, row: dict, width: int) -> str:
    cells = [f"{row[m]:.1f}" if m != "TC" else f"{row[m]:.2f}" for m in METRICS]
    return f"| {label:<{width}} | {tracker} | " + " | ".join(cells) + " |"


def summary(rows: list[dict], tracker: str, reduce: Callable[[list[float]], float]) -> dict:
    mine = [r for r in rows if r["tracker"] == tracker]
    return {m: float(reduce([r[m] for r in mine])) for m in METRICS}


def print_table(rows: list[dict], trackers: list[str], title: str) -> None:
    labels = [f"{row['clip']} ({row['frames']}f {row['size']})" for row in rows]
    width = max(len(label) for label in labels)
    print(f"\n{title}")
    print(f"| {'clip':<{width}} | tracker | " + " | ".join(HEADER) + " |")
    print("|" + "---|" * (len(HEADER) + 2))
    for label, row in zip(labels, rows):
        print(format_row(label, row["tracker"], row, width))
    for label, reduce in (("mean", np.nanmean), ("median", np.nanmedian)):
        for tracker in trackers:
            print(format_row(f"**{label}**", tracker, summary(rows, tracker, reduce), width))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="standard", choices=sorted(SUITES))
    parser.add_argument("--tracker", default="chained-flow",
                        help="NAME or NAME:PRESET, comma-separated; the baselines are added")
    parser.add_argument("--preset", default="default", help="preset of every tracker named without one (e.g. preview, paper)")
    parser.add_argument("--clips", type=int, default=None, help="only the first N clips of the suite")
    parser.add_argument("--only", default=None, help="only the clips whose name contains this, e.g. -480")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"), help="device passed to every tracker")
    parser.add_argument("--query-mode", default="strided", choices=("strided", "first"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"), help="folder for the JSON results")
    args = parser.parse_args(argv)
    try:
        runs = tracker_runs(args.tracker, args.preset)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clips = suite(args.suite)[: args.clips] if args.clips else suite(args.suite)
    clips = [spec for spec in clips if args.only is None or args.only in spec.name]
    if not clips:
        print(f"error: no clip of suite {args.suite!r} matches --only {args.only!r}", file=sys.stderr)
        return 2
    rows = []
    started = time.perf_counter()
    for spec in clips:
        clip = prepare_clip(spec, args.query_mode)
        for tracker, preset, label in runs:
            row = dict(evaluate(clip, tracker, preset, args.query_mode, args.device), tracker=label)
            rows.append(row)
            print(f"  {spec.name} {label}: AJ {row['AJ']:.1f} TC {row['TC']:.2f} in {row['seconds']:.1f} s",
                  file=sys.stderr, flush=True)
    labels = [label for _, _, label in runs]
    title = (f"Suite '{args.suite}' ({len(clips)} clips), query mode {args.query_mode}, preset {args.preset}, device {args.device}, "
             f"{os.cpu_count()} cores, {time.perf_counter() - started:.0f} s in all")
    print_table(rows, labels, title)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"accuracy_{args.suite}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"suite": args.suite, "preset": args.preset, "query_mode": args.query_mode,
                                "trackers": labels, "rows": rows}, indent=1))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
