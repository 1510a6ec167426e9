"""Time of the query-track fusion (fusion/link_fusion.py) per clip, and of its appearance re-detection pass.

The fusion is what `omnivfx track` spends on each query after the fit (dense exports skip it). To time it
without a fit, each query's "model" track is its own position in every frame (the fusion then works from the
flow alone); AJ is printed so a faster fusion can be checked for the same result. Run alone on the CPU:

    .venv/bin/python benchmarks/fusion_speed.py --only crossing-256,fast-256,busy-256
    .venv/bin/python benchmarks/fusion_speed.py --only -256 --flow paper     # the fusion on exhaustive pairs
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from omnimotion_vfx.evaluation.runner import prepare_clip  # noqa: E402
from omnimotion_vfx.errors import InputError  # noqa: E402
from omnimotion_vfx.evaluation.suite import SUITES, clips_matching  # noqa: E402
from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics  # noqa: E402
from omnimotion_vfx.flow import FlowConfig, compute_correspondences  # noqa: E402
from omnimotion_vfx.fusion import FlowFusion  # noqa: E402
from omnimotion_vfx.tracking.presets import run_preset  # noqa: E402


class TimedPass:
    """Wraps one pass of the fusion and adds up its seconds."""

    def __init__(self, inner) -> None:
        self.inner, self.seconds = inner, 0.0

    def __call__(self, *args):
        start = time.perf_counter()
        try:
            return self.inner(*args)
        finally:
            self.seconds += time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="standard", choices=sorted(SUITES))
    parser.add_argument("--only", default="crossing-256,fast-256,busy-256", help="comma-separated parts of clip names")
    parser.add_argument("--preset", default="default", help="run preset whose fusion settings are used")
    parser.add_argument("--flow", default="default", help="flow preset of the correspondences (paper: exhaustive pairs)")
    args = parser.parse_args(argv)
    try:
        specs = clips_matching(args.suite, args.only)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = run_preset(args.preset).fusion.without_model()  # anchors are the queries: no model
    print(f"flow preset {args.flow}, fusion settings of {args.preset}")
    print("| clip | queries | frames | flow s (pairs) | fusion s | re-detection s | s per query | AJ | TC |")
    print("|---|---|---|---|---|---|---|---|---|")
    for spec in specs:
        clip = prepare_clip(spec)
        start = time.perf_counter()
        correspondences = compute_correspondences(clip.video, FlowConfig.preset(args.flow))
        flow_seconds = time.perf_counter() - start
        fusion = FlowFusion(correspondences, settings, clip.video)
        redetection = TimedPass(fusion.redetection) if fusion.redetection is not None else None
        fusion.redetection = redetection
        queries = clip.points.queries
        index = queries[:, 0].astype(np.int64)
        frames = len(clip.video)
        anchor = np.repeat(queries[:, None, 1:].astype(np.float32), frames, 1)
        start = time.perf_counter()
        tracks, visible = fusion.refine(index, anchor, np.ones((len(queries), frames), bool))
        seconds = time.perf_counter() - start
        height, width = clip.video.shape[1:3]
        metrics = all_metrics(queries, clip.points.tracks, clip.points.visible, tracks, visible, (width, height), "strided")
        redetection_seconds = redetection.seconds if redetection else 0.0
        print(f"| {spec.name} | {len(queries)} | {frames} | {flow_seconds:.1f} ({len(correspondences.pairs)}) "
              f"| {seconds:.1f} | {redetection_seconds:.1f} | {seconds / len(queries):.3f} | {metrics['AJ']:.2f} "
              f"| {metrics['TC']:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
