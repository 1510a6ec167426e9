"""`omnivfx pin` on the bundled sample plate against its exact answer: a graphic pinned to background that an
object later passes over. Prints, per tracker, the holdout matte's IoU against the plate's exact occlusion on
the covered frames (pixels of the graphic's footprint where a nearer layer hides the background) and the corner
error on the frames where the background is clear, with the seconds spent.

    .venv/bin/python benchmarks/pin_holdout.py --trackers chained-flow,omnimotion --preset default

The issue target (issue 21): IoU >= 0.8 on the covered frames, corners within 1 px on clear frames.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORNERS = np.array([[24.0, 128.0], [52.0, 128.0], [52.0, 156.0], [24.0, 156.0]])  # clear background at 1001
GRAPHIC = (64, 64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", default="chained-flow,omnimotion")
    parser.add_argument("--preset", default="default")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "samples"))
    from make_orbit import FIRST_FRAME, PARAMS

    from omnimotion_vfx.evaluation.synthetic import build_scene, front_layer, ground_truth
    from omnimotion_vfx.exporters.mattes import polygon_coverage
    from omnimotion_vfx.pin.region import make_placement
    from omnimotion_vfx.pin.render import PinRenderer
    from omnimotion_vfx.pin.solve import solve_pin
    from omnimotion_vfx.tracking import TrackJob, fit_job

    scene = build_scene(PARAMS)
    size = (PARAMS.width, PARAMS.height)
    frames = list(range(FIRST_FRAME, FIRST_FRAME + PARAMS.frames))
    exact_corners, _ = ground_truth(scene, np.column_stack([np.zeros(4), CORNERS]))
    ys, xs = np.mgrid[0:size[1], 0:size[0]] + 0.5
    centres = np.column_stack([xs.ravel(), ys.ravel()])
    print(f"sample plate, pin at {CORNERS.tolist()} on frame {FIRST_FRAME}, preset {args.preset}")
    print("| tracker | fit s | field + pin s | holdout IoU on covered frames (min / median) | corner error on clear frames (max / median px) |")
    print("|---|---|---|---|---|")
    for tracker in args.trackers.split(","):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            job = TrackJob(plate=str(ROOT / "samples/orbit/orbit.%04d.png"), out=out, tracker=tracker, preset=args.preset,
                           device="cpu", grid=2)
            fitted, _ = fit_job(job)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            solve = solve_pin(fitted.motion(), frames, make_placement(FIRST_FRAME, size, CORNERS), GRAPHIC)
            for pull in (True, False):
                renderer = PinRenderer(solve, "planar", pull=pull)
                ious, errors = [], []
                for k, frame in enumerate(frames):
                    result = renderer.frame(frame, np.ones((GRAPHIC[1], GRAPHIC[0], 4), np.float32))
                    footprint = polygon_coverage(exact_corners[:, k], size) > 0.5
                    covered = footprint & (front_layer(scene, k, centres).reshape(size[1], size[0]) > 0)
                    if covered.sum() >= 20:
                        held = result.holdout > 0.5
                        ious.append((covered & held).sum() / (covered | held).sum())
                    elif covered.sum() == 0:
                        errors.append(np.linalg.norm(solve.corners(frame) - exact_corners[:, k], axis=1).max())
                pin_s = time.perf_counter() - start
                label = tracker if pull else f"{tracker}, holdout from the surface's visibility only (no pull)"
                print(f"| {label} | {fit_s:.1f} | {pin_s:.1f} | {min(ious):.2f} / {np.median(ious):.2f} ({len(ious)} frames) "
                      f"| {max(errors):.2f} / {np.median(errors):.2f} ({len(errors)} frames) |")
                start = time.perf_counter()
    return 0


if __name__ == "__main__":
    sys.exit(main())
