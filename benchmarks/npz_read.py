"""What reading .npz files through `npz_arrays.load_npz` costs against `np.load` (docs/flow.md, "Cache layout"):
both read every array of the same files on a thread pool, as the flow cache is read, alternating over a few
rounds; the first round warms the disk cache and is not counted. load_npz parses the .npy headers one thread at
a time (CPython 3.11's AST race), np.load does not.

    .venv/bin/python benchmarks/npz_read.py FOLDER [--files 400] [--threads 2]

FOLDER is any folder holding .npz files, searched recursively: a flow cache kept with `omnivfx track
--keep-cache`, or the benchmarks' own (`~/.cache/omnimotion_vfx/fusion_levers/<clip>-<key>`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from omnimotion_vfx.npz_arrays import load_npz


def np_load_all(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def ms_per_file(read, files: list[Path], threads: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(read, files))
    return (time.perf_counter() - start) / len(files) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--files", type=int, default=400, help="at most this many files, in name order")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each reader, after one warm-up")
    args = parser.parse_args(argv)
    files = sorted(args.folder.rglob("*.npz"))[: args.files]
    if not files:
        print(f"npz_read: error: no .npz file under {args.folder}; name a flow cache folder", file=sys.stderr)
        return 2
    readers = {"np.load": np_load_all, "load_npz": load_npz}
    for read in readers.values():
        ms_per_file(read, files, args.threads)
    times: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(args.rounds):
        for name, read in readers.items():
            times[name].append(ms_per_file(read, files, args.threads))
    base = statistics.median(times["np.load"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:9s} {median:.3f} ms a file (median of {args.rounds} rounds, {len(files)} files, "
              f"{args.threads} threads), {median / base:.2f}x np.load")
    return 0


if __name__ == "__main__":
    sys.exit(main())
