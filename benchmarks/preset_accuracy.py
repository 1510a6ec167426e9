"""Accuracy of several (tracker, preset) pairs on one suite in one run: the engine's presets side by side with
the flow baselines at their own default settings (benchmarks/accuracy.py passes one preset to every tracker,
and the baselines map `fast`/`preview` onto DIS `fast` flows, which would weaken them).

Same metrics, table and JSON output as benchmarks/accuracy.py. Run with `nice -n 10` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/preset_accuracy.py --suite tiny \
        --runs omnimotion:fast,omnimotion:preview,omnimotion:default,chained-flow:default,direct-flow:default
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import print_table  # noqa: E402

from omnimotion_vfx.evaluation.runner import evaluate, prepare_clip  # noqa: E402
from omnimotion_vfx.evaluation.suite import SUITES, suite  # noqa: E402

DEFAULT_RUNS = "omnimotion:fast,omnimotion:preview,omnimotion:default,chained-flow:default,direct-flow:default"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="tiny", choices=sorted(SUITES))
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="comma-separated tracker:preset pairs")
    parser.add_argument("--clips", type=int, default=None, help="only the first N clips of the suite")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--query-mode", default="strided", choices=("strided", "first"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"))
    args = parser.parse_args(argv)
    runs = [tuple(item.strip().split(":", 1)) if ":" in item else (item.strip(), "default")
            for item in args.runs.split(",") if item.strip()]
    labels = [f"{tracker}:{preset}" for tracker, preset in runs]
    clips = suite(args.suite)[: args.clips] if args.clips else suite(args.suite)
    rows = []
    started = time.perf_counter()
    for spec in clips:
        clip = prepare_clip(spec, args.query_mode)
        for (tracker, preset), label in zip(runs, labels):
            row = evaluate(clip, tracker, preset, args.query_mode, args.device)
            rows.append(dict(row, tracker=label))
            print(f"  {spec.name} {label}: AJ {row['AJ']:.1f} TC {row['TC']:.2f} in {row['seconds']:.1f} s", file=sys.stderr, flush=True)
    title = (f"Suite '{args.suite}' ({len(clips)} clips), query mode {args.query_mode}, device {args.device}, "
             f"{os.cpu_count()} cores, {time.perf_counter() - started:.0f} s in all")
    print_table(rows, labels, title)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"preset_accuracy_{args.suite}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"suite": args.suite, "runs": labels, "query_mode": args.query_mode, "rows": rows}, indent=1))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
