"""Time and disk per frame of the dense exports at 854x480 (run by hand, not collected by pytest):

    cd /work/main && OMP_WAIT_POLICY=PASSIVE nice -n 10 .venv/bin/python tests/bench_export_dense.py

Two trackers: the analytic ground truth (times the exporter itself) and chained-flow (a real tracker's
map_points: each call follows the chain through the clip, so its cost grows with the clip length)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from export_synthetic import GroundTruthTracker  # noqa: E402

from omnimotion_vfx.clip_geometry import ClipGeometry  # noqa: E402
from omnimotion_vfx.exporters import dense_maps, mattes  # noqa: E402
from omnimotion_vfx.flow.chained_tracker import ChainedFlowTracker  # noqa: E402

FRAMES = range(1001, 1011)


def measure(label: str, map_points, frames: list[int], size: tuple[int, int], out: Path) -> None:
    coverage = mattes.polygon_coverage([(200, 100), (600, 120), (580, 400), (220, 380)], size)
    jobs = {
        "motion float32": lambda f: dense_maps.write_motion_vectors(map_points, frames, size, f),
        "motion half": lambda f: dense_maps.write_motion_vectors(map_points, frames, size, f, half=True),
        "stmap float32": lambda f: dense_maps.write_stmaps(map_points, frames, frames[0], size, f),
        "mattes 2x2 half": lambda f: mattes.write_mattes(map_points, frames, frames[0], coverage, f, half=True),
    }
    for name, job in jobs.items():
        folder = out / label / name.replace(" ", "_")
        start = time.perf_counter()
        paths = job(folder)
        seconds = (time.perf_counter() - start) / len(frames)
        disk = np.mean([p.stat().st_size for p in paths]) / 1e6
        print(f"{label:>14} | {name:<16} | {seconds:6.2f} s/frame | {disk:5.2f} MB/frame")


def main() -> None:
    truth = GroundTruthTracker(width=854, height=480, frames=FRAMES, velocity=(4.0, 1.5))
    frames = list(FRAMES)
    with tempfile.TemporaryDirectory() as tmp:
        measure("analytic", truth.map_points, frames, truth.size, Path(tmp))
        video = np.stack([np.round(truth.render(f) * 255).astype(np.uint8) for f in frames])
        start = time.perf_counter()
        chained = ChainedFlowTracker(video, ClipGeometry(tuple(frames)))
        print(f"chained-flow fit (DIS flow, {len(frames)} frames): {time.perf_counter() - start:.1f} s")
        measure("chained-flow", chained.map_points, frames, truth.size, Path(tmp))


if __name__ == "__main__":
    main()
