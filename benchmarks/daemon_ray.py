"""One job through `omnivfx serve` (local engine) vs. `omnivfx serve --ray-address` (a private local Ray), same run.

    nice -n 10 .venv/bin/python benchmarks/daemon_ray.py [--repeats 3] [--frames 16] [--size 960x540]

Starts a 2-CPU Ray head (`ray start --head --block`, stopped by SIGTERM), a local daemon and a Ray daemon, then
submits the same chained-flow grid job `repeats` times to each (a new results folder each time, so nothing is
skipped) and times submit -> result on the client, plus the first Ray job (its worker process starts cold) and the
first `query_points` on a Ray-fitted plate (a local refit from its results folder). Writes
benchmarks/out/daemon_ray.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from daemon_support import DaemonProcess  # noqa: E402
from plate_factory import write_plate  # noqa: E402
from ray_head import RAY_ENV, ray_head  # noqa: E402


def time_job(daemon: DaemonProcess, plate: str, out: Path) -> tuple[float, str]:
    with daemon.client(timeout=10.0) as client:
        started = time.monotonic()
        job_id = client.submit(plate, grid=8, tracker="chained-flow", out=str(out))
        client.wait(job_id)
        return time.monotonic() - started, job_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", default="960x540")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="omnivfx-daemon-ray-") as tmp:
        root = Path(tmp)
        plate = write_plate(root / "plate", count=args.frames, size=(width, height), extension="png", pixel_type="uint8")
        started = time.monotonic()
        with ray_head(root / "ray_start.log") as address:
            cluster_start = time.monotonic() - started
            local = DaemonProcess(root / "jobs-local").wait_ready(90)
            started = time.monotonic()
            remote = DaemonProcess(root / "jobs-ray", "--ray-address", address, env=RAY_ENV).wait_ready(90)
            ray_daemon_start = time.monotonic() - started
            try:
                first_ray, job_id = time_job(remote, plate, root / "ray-first")
                time_job(local, plate, root / "local-first")  # warm-up: imports in the local daemon
                with remote.client(timeout=60.0) as client:
                    started = time.monotonic()
                    client.query_points(job_id, [[1001, width / 2 + 0.5, height / 2 + 0.5]])
                    first_query = time.monotonic() - started
                ray_times = [time_job(remote, plate, root / f"ray-{i}")[0] for i in range(args.repeats)]
                local_times = [time_job(local, plate, root / f"local-{i}")[0] for i in range(args.repeats)]
            finally:
                local.kill()
                remote.kill()
    figures = {
        "plate": f"{args.frames} frames {width}x{height} PNG, chained-flow, grid 8",
        "ray_cluster_start_s": round(cluster_start, 2),
        "ray_daemon_ready_s": round(ray_daemon_start, 2),
        "first_ray_job_s": round(first_ray, 2),
        "ray_job_median_s": round(statistics.median(ray_times), 2),
        "local_job_median_s": round(statistics.median(local_times), 2),
        "ray_job_times_s": [round(t, 2) for t in ray_times],
        "local_job_times_s": [round(t, 2) for t in local_times],
        "first_query_points_on_ray_job_s": round(first_query, 2),
    }
    out = Path(__file__).parent / "out" / "daemon_ray.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
