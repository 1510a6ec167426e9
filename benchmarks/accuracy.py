"""Tracking accuracy on synthetic plates with exact ground truth, TAP-Vid protocol (docs/evaluation.md).

Prints one table: per clip and tracker AJ, <delta_avg, OA (percent, higher is better), TC (256-raster pixels,
lower is better) and seconds, then the mean and the median per tracker. The paper's flow baselines
(chained-flow, direct-flow) are always measured in the same run, so numbers are compared on the same machine
load. Writes the rows as JSON to benchmarks/out/. Run with `nice -n 10` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/accuracy.py --suite standard --tracker chained-flow
    nice -n 10 .venv/bin/python benchmarks/accuracy.py --suite tiny --tracker omnimotion --preset preview
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

METRICS = ("AJ", "delta_avg", "OA", "TC", "seconds")
HEADER = ("AJ", "<d_avg", "OA", "TC", "s")


def tracker_list(requested: str) -> list[str]:
    """The requested trackers followed by the baselines not already named, each once."""
    names = [n.strip() for n in requested.split(",") if n.strip()]
    known = evaluation_tracker_names()
    for name in names:
        if name not in known:
            raise InputError(f"unknown tracker {name!r}; choose from {', '.join(known)}")
    return names + [b for b in BASELINES if b not in names]


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
    parser.add_argument("--tracker", default="chained-flow", help="tracker name(s), comma-separated; baselines are added")
    parser.add_argument("--preset", default="default", help="preset passed to every tracker (e.g. preview, paper)")
    parser.add_argument("--clips", type=int, default=None, help="only the first N clips of the suite")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"), help="device passed to every tracker")
    parser.add_argument("--query-mode", default="strided", choices=("strided", "first"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"), help="folder for the JSON results")
    args = parser.parse_args(argv)
    try:
        trackers = tracker_list(args.tracker)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    clips = suite(args.suite)[: args.clips] if args.clips else suite(args.suite)
    rows = []
    started = time.perf_counter()
    for spec in clips:
        clip = prepare_clip(spec, args.query_mode)
        for tracker in trackers:
            rows.append(evaluate(clip, tracker, args.preset, args.query_mode, args.device))
            r = rows[-1]
            print(f"  {spec.name} {tracker}: AJ {r['AJ']:.1f} in {r['seconds']:.1f} s", file=sys.stderr, flush=True)
    title = (f"Suite '{args.suite}' ({len(clips)} clips), query mode {args.query_mode}, preset {args.preset}, device {args.device}, "
             f"{os.cpu_count()} cores, {time.perf_counter() - started:.0f} s in all")
    print_table(rows, trackers, title)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"accuracy_{args.suite}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"suite": args.suite, "preset": args.preset, "query_mode": args.query_mode,
                                "trackers": trackers, "rows": rows}, indent=1))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
