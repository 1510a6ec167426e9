"""Dense products of one clip from its motion field, per stage: seconds and peak RSS for the tracker (flow and
fit), seeding the field, then motion vectors, STMaps and mattes for every frame written as real EXRs, and the
query tracks (answered by the tracker, joined to the field). Linear time: each product costs one field lookup
per frame (two for vectors, `--matte-samples`^2 for mattes), whatever the clip length.

    .venv/bin/python benchmarks/dense_products.py --rendered parallax-dolly-256          # 48 frames, 256x256
    .venv/bin/python benchmarks/dense_products.py --synthetic 854x480x100 --preset default  # 100 frames, 854x480

Peak RSS is the process's high-water mark at the end of each stage (a stage that raises it shows). Run alone
on the CPU: the figures are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402


def peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def load_clip(args: argparse.Namespace) -> tuple[str, np.ndarray]:
    if args.rendered:
        from omnimotion_vfx.evaluation.runner import prepare_clip
        from omnimotion_vfx.evaluation.suite import clips_matching

        spec = clips_matching("rendered", args.rendered)[0]
        return spec.name, prepare_clip(spec).video
    from omnimotion_vfx.evaluation.synthetic import SceneParams, build_scene, render

    width, height, frames = (int(v) for v in args.synthetic.split("x"))
    scene = build_scene(SceneParams(seed=11, width=width, height=height, frames=frames,
                                    camera_speed=2.0 * width / 256, object_speed=3.0 * width / 256))
    return f"synthetic {args.synthetic}", render(scene)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--rendered", help="a clip of the rendered suite (part of its name)")
    where.add_argument("--synthetic", help="a generated planar clip, WIDTHxHEIGHTxFRAMES")
    parser.add_argument("--tracker", default="omnimotion")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--matte-samples", type=int, default=2)
    args = parser.parse_args(argv)

    from omnimotion_vfx.clip_geometry import ClipGeometry
    from omnimotion_vfx.exporters.dense_maps import write_motion_vectors, write_stmaps
    from omnimotion_vfx.exporters.mattes import polygon_coverage, write_mattes
    from omnimotion_vfx.motion.build import clip_motion
    from omnimotion_vfx.progress import NullProgress, StopToken
    from omnimotion_vfx.tracking.presets import run_preset
    from omnimotion_vfx.tracking.registry import TrackerContext, build_tracker

    name, video = load_clip(args)
    frames, height, width = video.shape[:3]
    plate_frames = list(range(1001, 1001 + frames))
    geometry = ClipGeometry(tuple(plate_frames))
    rows: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        context = TrackerContext(work / "work", args.preset, "cpu", NullProgress(), StopToken())
        start = time.perf_counter()
        tracker, config = build_tracker(args.tracker, video, geometry, context)
        rows.append(("tracker: flow + fit", time.perf_counter() - start, peak_rss_mb()))

        start = time.perf_counter()
        motion = clip_motion(tracker, geometry, run_preset(args.preset).motion if args.tracker == "omnimotion" else None)
        rows.append((f"motion field: seed {len(motion.field.nodes)} trajectories", time.perf_counter() - start, peak_rss_mb()))

        rng = np.random.default_rng(0)
        queries = np.column_stack([np.full(100, 1001.0), rng.uniform(0, width, 100), rng.uniform(0, height, 100)])
        start = time.perf_counter()
        tracks, visible = tracker(queries)
        motion.add_tracks(queries, tracks, visible)
        rows.append(("100 query tracks (joined to the field)", time.perf_counter() - start, peak_rss_mb()))

        start = time.perf_counter()
        write_motion_vectors(motion.map_points, plate_frames, (width, height), work / "motion")
        rows.append((f"motion vectors, {frames} frames", time.perf_counter() - start, peak_rss_mb()))
        start = time.perf_counter()
        write_stmaps(motion.map_points, plate_frames, 1001, (width, height), work / "stmap")
        rows.append((f"STMaps to frame 1001, {frames} frames", time.perf_counter() - start, peak_rss_mb()))
        region = [(0.3 * width, 0.3 * height), (0.7 * width, 0.3 * height), (0.7 * width, 0.7 * height), (0.3 * width, 0.7 * height)]
        start = time.perf_counter()
        write_mattes(motion.map_points, plate_frames, 1001, polygon_coverage(region, (width, height)), work / "mattes",
                     samples=args.matte_samples)
        rows.append((f"mattes ({args.matte_samples}x{args.matte_samples} samples), {frames} frames", time.perf_counter() - start,
                     peak_rss_mb()))

    print(f"{name}: {frames} frames {width}x{height}, tracker {args.tracker}, preset {args.preset}, "
          f"{os.cpu_count()} CPU cores")
    print("| stage | seconds | peak RSS MB |")
    print("|---|---|---|")
    for label, seconds, rss in rows:
        print(f"| {label} | {seconds:.1f} | {rss} |")
    dense = sum(s for label, s, _ in rows[1:] if not label.startswith("100 query"))
    print(f"| all dense products beyond the fit (field + vectors + STMaps + mattes) | {dense:.1f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
