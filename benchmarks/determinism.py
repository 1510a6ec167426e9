"""Run-to-run spread of `omnivfx track` on the sample plate, with and without `--deterministic`: the numbers of
docs/engine.md's Determinism section.

Runs the real command N times per mode (interleaved, so both see the same machine load), then prints per mode the
track differences between every two runs (median, mean, max px; how many tracks differ), the AJ of each run and
the fit's steps/s (from each manifest's `fit_seconds`). About 25 s a run with `preview` on a 2-core CPU:

    .venv/bin/python benchmarks/determinism.py --runs 3 --preset preview [--device cuda]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "orbit"


def track(out: Path, preset: str, device: str, deterministic: bool) -> None:
    command = [sys.executable, "-c", "from omnivfx_cli.main import main; main()", "track",
               str(SAMPLE / "orbit.%04d.png"), "--queries", str(SAMPLE / "points.csv"), "--preset", preset,
               "--device", device, "--out", str(out)] + (["--deterministic"] if deterministic else [])
    subprocess.run(command, check=True, capture_output=True, text=True)


def average_jaccard(out: Path) -> float:
    from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics

    truth, result = np.load(SAMPLE / "ground_truth.npz"), np.load(out / "tracks.npz")
    queries = truth["query_points"] - (1001, 0, 0)
    return all_metrics(queries, truth["tracks"], truth["visible"], result["tracks"], result["visible"], (256, 256), "first")["AJ"]


def report(name: str, outs: list[Path]) -> None:
    tracks = [np.load(out / "tracks.npz")["tracks"] for out in outs]
    fits = [json.loads((out / "manifest.json").read_text())["config"]["tracker"]["fit"] for out in outs]
    print(f"{name}: AJ " + ", ".join(f"{average_jaccard(out):.2f}" for out in outs)
          + "; steps/s " + ", ".join(f"{f['steps_done'] / max(f['fit_seconds'], 1e-9):.1f}" for f in fits))
    for (i, a), (j, b) in itertools.combinations(enumerate(tracks), 2):
        d = np.linalg.norm(a - b, axis=-1)
        print(f"  runs {i + 1} and {j + 1}: median {np.median(d):.2f} px, mean {d.mean():.3f} px, max {d.max():.2f} px, "
              f"{int((d.max(1) > 0.01).sum())} of {len(d)} tracks differ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--preset", default="preview")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="omnivfx_determinism_") as tmp:
        outs: dict[bool, list[Path]] = {False: [], True: []}
        for run in range(args.runs):
            for deterministic in (False, True):
                out = Path(tmp) / f"{'deterministic' if deterministic else 'default'}_{run}"
                track(out, args.preset, args.device, deterministic)
                outs[deterministic].append(out)
        report("default", outs[False])
        report("--deterministic", outs[True])


if __name__ == "__main__":
    main()
