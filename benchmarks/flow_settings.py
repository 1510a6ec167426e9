"""What a DIS setting is worth to the trackers: chained flow and the engine's flow fusion (with no fitted model,
so only the flow differs) on clips with exact ground truth, one row per `dis_finest_scale`, in one run
(docs/flow.md, "Full-resolution DIS"). Run with `nice -n 10`:

    nice -n 10 .venv/bin/python benchmarks/flow_settings.py --suite standard --clips 5 --finest-scales 1,0
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
from omnimotion_vfx.evaluation.runner import prepare_clip  # noqa: E402
from omnimotion_vfx.evaluation.suite import SUITES, suite  # noqa: E402
from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics  # noqa: E402
from omnimotion_vfx.flow import FlowConfig, compute_correspondences  # noqa: E402
from omnimotion_vfx.fusion import FlowFusion  # noqa: E402
from omnimotion_vfx.tracking.presets import run_preset  # noqa: E402
from omnimotion_vfx.flow.chained_tracker import ChainedFlowConfig, ChainedFlowTracker  # noqa: E402

METRICS = ("AJ", "delta_avg", "OA", "TC")


def score_setting(clips: list, finest_scale: int, work: Path) -> dict[str, list]:
    """Per clip: chained-flow and flow-fusion metrics, and the seconds the log-schedule flow took."""
    rows: dict[str, list] = {"chained flow": [], "flow fusion": [], "flow seconds": []}
    for clip in clips:
        video, points = clip.video, clip.points
        frames = len(video)
        size = (video.shape[2], video.shape[1])
        folder = work / f"{clip.spec.name}-{finest_scale}"
        start = time.perf_counter()
        corr = compute_correspondences(video, FlowConfig.preset("default", dis_finest_scale=finest_scale), folder)
        rows["flow seconds"].append(time.perf_counter() - start)
        chained = ChainedFlowTracker(video, ClipGeometry(tuple(range(frames))), ChainedFlowConfig(dis_finest_scale=finest_scale),
                                     cache_dir=folder)
        rows["chained flow"].append(all_metrics(points.queries, points.tracks, points.visible, *chained(points.queries), size))
        index, xy = points.queries[:, 0].astype(np.int64), points.queries[:, 1:].astype(np.float32)
        still = np.repeat(xy[:, None], frames, 1)  # no model: frames the flow cannot reach stay at the query
        fused = FlowFusion(corr, run_preset("default").fusion.without_model()).refine(index, still, np.ones(still.shape[:2], bool))
        rows["flow fusion"].append(all_metrics(points.queries, points.tracks, points.visible, *fused, size))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="standard", choices=sorted(SUITES))
    parser.add_argument("--clips", type=int, default=None, help="only the first N clips of the suite")
    parser.add_argument("--finest-scales", default="1,0", help="comma-separated DIS finest scales (0 = full resolution)")
    args = parser.parse_args()
    specs = suite(args.suite)[: args.clips] if args.clips else suite(args.suite)
    clips = [prepare_clip(spec) for spec in specs]
    print(f"Suite '{args.suite}', {len(clips)} clips, DIS medium, strided queries; means over clips")
    print("| finest scale | tracker | AJ | <d_avg | OA | TC | flow s (all clips) |\n|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="omnivfx-flow-settings-") as work:
        for scale in (int(s) for s in args.finest_scales.split(",")):
            rows = score_setting(clips, scale, Path(work))
            for tracker in ("chained flow", "flow fusion"):
                mean = {m: np.nanmean([r[m] for r in rows[tracker]]) for m in METRICS}
                print(f"| {scale} | {tracker} | {mean['AJ']:.1f} | {mean['delta_avg']:.1f} | {mean['OA']:.1f} | {mean['TC']:.2f} "
                      f"| {sum(rows['flow seconds']):.0f} |", flush=True)


if __name__ == "__main__":
    main()
