"""Where the engine's accuracy comes from: each preset's fitted model alone (published inference), the same
fit with flow fusion, the flow fusion with the model's pull removed, and that without surface re-acquisition, next to the chained-flow and
direct-flow baselines, all on the same clips in one run (docs/engine.md). Run with `nice -n 10`:

    nice -n 10 .venv/bin/python benchmarks/engine_ablation.py --suite tiny --presets preview,default
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from omnimotion_vfx.clip_geometry import ClipGeometry  # noqa: E402
from omnimotion_vfx.evaluation.baselines import BASELINES, build_evaluation_tracker  # noqa: E402
from omnimotion_vfx.evaluation.suite import suite  # noqa: E402
from omnimotion_vfx.evaluation.synthetic import build_scene, render, sample_points, tapvid_queries  # noqa: E402
from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics  # noqa: E402
from omnimotion_vfx.flow import compute_correspondences  # noqa: E402
from omnimotion_vfx.fusion import FlowFusion  # noqa: E402
from omnimotion_vfx.progress import NullProgress, StopToken  # noqa: E402
from omnimotion_vfx.tracking.fused_tracker import fit_fused  # noqa: E402
from omnimotion_vfx.tracking.presets import run_preset  # noqa: E402
from omnimotion_vfx.tracking.registry import TrackerContext  # noqa: E402


def run_clip(spec, presets: list[str], points: int, work: Path, rows: dict) -> None:
    scene = build_scene(spec.params)
    video = render(scene)
    frames = len(video)
    gt = tapvid_queries(sample_points(scene, points, 0))
    index, xy = gt.queries[:, 0].astype(np.int64), gt.queries[:, 1:].astype(np.float32)

    def score(label: str, tracks: np.ndarray, visible: np.ndarray, seconds: float = 0.0) -> None:
        metrics = all_metrics(gt.queries, gt.tracks, gt.visible, tracks, visible, scene.size)
        rows.setdefault(label, []).append(dict(metrics, seconds=seconds))

    for name in BASELINES:
        t0 = time.perf_counter()
        context = TrackerContext(work / name, "default", "cpu", NullProgress(), StopToken())
        tracker, _ = build_evaluation_tracker(name, video, ClipGeometry(tuple(range(frames))), context)
        score(name, *tracker(gt.queries), time.perf_counter() - t0)
    for name in presets:
        run = run_preset(name).with_overrides({"device": "cpu"})
        t0 = time.perf_counter()
        corr = compute_correspondences(video, run.flow, work / f"flow-{name}")
        flow_s = time.perf_counter() - t0
        tracker = fit_fused(video, corr, run.engine, run.fusion)
        fit_s = time.perf_counter() - t0
        score(f"{name}: model only (published inference)", *tracker.track_internal(index, xy, refine=False), fit_s)
        score(f"{name}: model + flow fusion", *tracker.track_internal(index, xy, refine=True), fit_s)
        still = np.repeat(xy[:, None], frames, 1)  # the model's pull replaced by the query position
        for label, fusion in (("flow fusion without the model", FlowFusion(corr, run.fusion.without_model(), video)),
                              ("flow fusion without the model or re-acquisition", FlowFusion(corr, run.fusion.without_model()))):
            t1 = time.perf_counter()
            fused = fusion.refine(index, still, np.ones(still.shape[:2], bool))
            score(f"{name}: {label}", *fused, flow_s + time.perf_counter() - t1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="tiny")
    parser.add_argument("--presets", default="preview,default")
    parser.add_argument("--clips", type=int, default=None)
    parser.add_argument("--points", type=int, default=100)
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in suite(args.suite)[: args.clips]:
            run_clip(spec, args.presets.split(","), args.points, Path(tmp) / spec.name, rows)
            print(f"done {spec.name}", flush=True)
    print("| method | AJ | <d_avg | OA | TC | s/clip |\n|---|---|---|---|---|---|")
    for label, ms in rows.items():
        mean = {k: float(np.nanmean([m[k] for m in ms])) for k in ms[0]}
        print(f"| {label} | {mean['AJ']:.1f} | {mean['delta_avg']:.1f} | {mean['OA']:.1f} | {mean['TC']:.2f} | {mean['seconds']:.0f} |")


if __name__ == "__main__":
    main()
