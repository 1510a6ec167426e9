"""Run trackers on synthetic clips and score them against exact ground truth (used by benchmarks/accuracy.py).

Trackers see the clip as a plate numbered from 1001, exactly as `omnivfx track` would give it to them, and
each tracker builds in its own empty work folder, so its seconds include its own flow computation.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..clip_geometry import ClipGeometry
from ..progress import NullProgress, StopToken
from ..trackers import TrackerContext
from .baselines import build_evaluation_tracker
from .suite import ClipSpec
from .synthetic import PointSet, build_scene, render, sample_points, tapvid_queries
from .tapvid_metrics import all_metrics

FIRST_FRAME = 1001


@dataclass
class ClipData:
    spec: ClipSpec
    video: np.ndarray  # uint8 [T, H, W, 3]
    points: PointSet  # TAP-Vid queries with their GT (0-based frames)


def prepare_clip(spec: ClipSpec, query_mode: str = "strided") -> ClipData:
    scene = build_scene(spec.params)
    points = tapvid_queries(sample_points(scene, spec.tracks, seed=0), query_mode)
    return ClipData(spec, render(scene), points)


def evaluate(clip: ClipData, tracker: str, preset: str = "default", query_mode: str = "strided", device: str = "cpu") -> dict:
    """One tracker on one clip: metrics (AJ, delta_avg, OA, TC) plus seconds and the query count."""
    frames = tuple(range(FIRST_FRAME, FIRST_FRAME + len(clip.video)))
    geometry = ClipGeometry(frames)
    queries = clip.points.queries.copy()
    queries[:, 0] += FIRST_FRAME
    with tempfile.TemporaryDirectory(prefix="omnivfx-eval-") as work:
        context = TrackerContext(Path(work), preset, device, NullProgress(), StopToken())
        start = time.perf_counter()
        model, _ = build_evaluation_tracker(tracker, clip.video, geometry, context)
        tracks, visible = model(queries.astype(np.float32))
        seconds = time.perf_counter() - start
    height, width = clip.video.shape[1:3]
    metrics = all_metrics(clip.points.queries, clip.points.tracks, clip.points.visible, tracks, visible, (width, height), query_mode)
    return {"clip": clip.spec.name, "tracker": tracker, **metrics, "seconds": seconds, "queries": len(queries),
            "frames": len(frames), "size": f"{width}x{height}"}
