"""Wall time of N small shots: one after another in this process vs. `run_batch` on a local Ray cluster.

Also measures the cluster's start-up and shutdown, a second run of the same batch (every shot skipped) and a
batch of new shots on the now warm workers (their imports done), i.e. the fixed costs a batch pays. Run with `nice -n 10` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/batch.py --shots 8 --frames 12 --size 256 --num-cpus 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private benchmark cluster on this machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from batch_support import write_plate  # noqa: E402

from omnimotion_vfx.batch.cluster import ShotResources, ray_session  # noqa: E402
from omnimotion_vfx.batch.runner import run_batch  # noqa: E402
from omnimotion_vfx.batch.shot_list import Shot  # noqa: E402
from omnimotion_vfx.job_runner import run_track_job
from omnimotion_vfx.tracking.job import TrackJob  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--grid", type=int, default=8)
    parser.add_argument("--num-cpus", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="omnivfx-batch-bench-") as tmp:
        root = Path(tmp)
        plates = [write_plate(root / f"plate{i}", args.frames, args.size, seed=i) for i in range(args.shots)]

        run_track_job(TrackJob(plate=plates[0], grid=args.grid, out=str(root / "warm-up")))  # imports, first calls
        t0 = time.monotonic()
        for i, plate in enumerate(plates):
            run_track_job(TrackJob(plate=plate, grid=args.grid, out=str(root / "sequential" / str(i))))
        sequential = time.monotonic() - t0

        shots = [Shot(f"shot{i}", TrackJob(plate=p, grid=args.grid, out=str(root / "ray" / str(i)))) for i, p in enumerate(plates)]
        import ray

        t0 = time.monotonic()
        with ray_session(None, args.num_cpus):
            started = time.monotonic() - t0
            t1 = time.monotonic()
            reports = run_batch(shots, ShotResources(retries=0))
            batch = time.monotonic() - t1
            t2 = time.monotonic()
            skipped = run_batch(shots, ShotResources(retries=0))
            rerun = time.monotonic() - t2
            again = [Shot(s.name, TrackJob(plate=s.job.plate, grid=args.grid, out=s.job.out + "-warm")) for s in shots]
            t4 = time.monotonic()
            warm_reports = run_batch(again, ShotResources(retries=0))
            warm = time.monotonic() - t4
            t3 = time.monotonic()
        shutdown = time.monotonic() - t3
        assert not ray.is_initialized()
        assert all(r.status == "done" for r in reports), [r.to_dict() for r in reports]
        assert all(r.status == "skipped" for r in skipped)
        assert all(r.status == "done" for r in warm_reports)

    print(json.dumps({
        "shots": args.shots, "frames": args.frames, "size": args.size, "grid": args.grid, "num_cpus": args.num_cpus,
        "sequential_s": round(sequential, 2),
        "ray_start_s": round(started, 2),
        "ray_batch_s": round(batch, 2),
        "ray_batch_warm_workers_s": round(warm, 2),
        "ray_rerun_all_skipped_s": round(rerun, 2),
        "ray_shutdown_s": round(shutdown, 2),
        "ray_total_s": round(started + batch + shutdown, 2),
        "speedup_batch_only": round(sequential / batch, 2),
        "speedup_warm_workers": round(sequential / warm, 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }, indent=2))


if __name__ == "__main__":
    main()
