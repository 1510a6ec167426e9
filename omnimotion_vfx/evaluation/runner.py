"""Run trackers on ground-truth clips and score them (used by benchmarks/accuracy.py).

Trackers see the clip as a plate numbered from 1001, exactly as `omnivfx track` would give it to them, and
each tracker builds in its own empty work folder, so its seconds include its own flow computation. One tracker
run answers every protocol at once: the strided and first TAP-Vid queries and, on long clips, the frame-0
queries scored at the last frame are tracked together and scored apart.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..clip_geometry import ClipGeometry
from ..progress import NullProgress, StopToken
from ..tracking.registry import TrackerContext, environment_overrides
from .baselines import build_evaluation_tracker
from .rendered.cache import load_rendered
from .rendered.recipes import RenderedClip
from .suite import ClipSpec
from .synthetic import PointSet, build_scene, render, sample_points, tapvid_queries
from .tapvid_metrics import all_metrics, last_frame_metrics

FIRST_FRAME = 1001
LONG_CLIP_FRAMES = 100  # clips this long also get the long-range (frame 0 -> last frame) scores
LAST = "last"  # the long-range query set's name


@dataclass
class ClipData:
    spec: ClipSpec | RenderedClip
    video: np.ndarray  # uint8 [T, H, W, 3]
    points: PointSet  # TAP-Vid queries of the mode asked for, with their GT (0-based frames)
    trajectories: PointSet  # one row per GT trajectory, its query where it was picked

    @property
    def is_long(self) -> bool:
        return len(self.video) >= LONG_CLIP_FRAMES


def prepare_clip(spec: ClipSpec | RenderedClip, query_mode: str = "strided") -> ClipData:
    """Frames and ground truth of a planar clip (generated here) or a rendered one (from the cache, rendered on
    first use)."""
    if isinstance(spec, RenderedClip):
        rendered = load_rendered(spec)
        rows = np.arange(len(rendered.tracks))
        queries = np.column_stack([rendered.picked_frame, rendered.tracks[rows, rendered.picked_frame]]).astype(np.float64)
        trajectories = PointSet(queries, rendered.tracks, rendered.visible, rendered.layers)
        video = rendered.video
    else:
        scene = build_scene(spec.params)
        trajectories = sample_points(scene, spec.tracks, seed=0)
        video = render(scene)
    return ClipData(spec, video, tapvid_queries(trajectories, query_mode), trajectories)


def query_sets(clip: ClipData, modes: tuple[str, ...], long_range: bool = True) -> dict[str, PointSet]:
    """The TAP-Vid queries of each mode and, on long clips (unless `long_range` is off), every trajectory seen in
    frame 0 queried there."""
    sets = {mode: tapvid_queries(clip.trajectories, mode) for mode in modes}
    if long_range and clip.is_long:
        seen = np.nonzero(clip.trajectories.visible[:, 0])[0]
        start = np.column_stack([np.zeros(len(seen)), clip.trajectories.tracks[seen, 0]])
        sets[LAST] = PointSet(start, clip.trajectories.tracks[seen], clip.trajectories.visible[seen],
                              clip.trajectories.layers[seen])
    return sets


def evaluate_modes(clip: ClipData, tracker: str, preset: str = "default", device: str = "cpu",
                   modes: tuple[str, ...] = ("strided", "first"), long_range: bool = True,
                   dense: bool = False) -> dict[str, dict]:
    """One tracker run on one clip, scored per query set: {mode: metrics (AJ, delta_avg, OA, TC, end<d)} and,
    on long clips, {"last": within_1..16, delta_avg, median_px, visibility}; each with the run's seconds, which
    cover the tracking of every set together. With `dense` (trackers that seed a motion field), the same
    queries are also answered by the clip's motion field without them (what a dense product gives at a point
    no query was placed on), scored as {mode + ":dense": ...} with the field's seconds."""
    sets = query_sets(clip, modes, long_range)
    return score_answers(clip, tracker, sets, track_sets(clip, tracker, sets, preset, device, dense))


Answers = dict[str, tuple[np.ndarray, np.ndarray, float]]  # suffix -> (tracks [N, T, 2], visible [N, T], seconds)


def track_sets(clip: ClipData, tracker: str, sets: dict[str, PointSet], preset: str = "default", device: str = "cpu",
               dense: bool = False, model: bool = False) -> Answers:
    """Every query set tracked in one run of the tracker (0-based frames in the answers, plate pixels): {"": the
    tracker's own answer}, with `dense` {":dense": the motion field's} (see `evaluate_modes`) and, with `model`,
    {":model": the fitted model's own tracks before the fusion} where the tracker has a model."""
    queries = np.concatenate([points.queries for points in sets.values()])
    frames = tuple(range(FIRST_FRAME, FIRST_FRAME + len(clip.video)))
    plate_queries = queries.copy()
    plate_queries[:, 0] += FIRST_FRAME
    with tempfile.TemporaryDirectory(prefix="omnivfx-eval-") as work:
        context = TrackerContext(Path(work), preset, device, NullProgress(), StopToken(), overrides=environment_overrides())
        start = time.perf_counter()
        built, config = build_evaluation_tracker(tracker, clip.video, ClipGeometry(frames), context)
        tracks, visible = built(plate_queries.astype(np.float32))
        seconds = time.perf_counter() - start
        answers = {"": (tracks, visible, seconds)}
        if dense and hasattr(built, "track_nodes"):
            from ..motion.build import clip_motion
            from ..motion.config import MotionConfig

            start = time.perf_counter()
            motion = clip_motion(built, ClipGeometry(frames), MotionConfig(**config.get("motion", {})), device=built.device)
            answers[":dense"] = (*motion.track(plate_queries.astype(np.float32)), time.perf_counter() - start)
        if model and hasattr(built, "track_internal") and getattr(built, "fusion", None) is not None:
            start = time.perf_counter()
            index, xy = built.geometry.to_internal(plate_queries.astype(np.float32))
            own, own_visible = built.track_internal(index, xy, refine=False)
            answers[":model"] = (built.geometry.to_plate(own), own_visible, time.perf_counter() - start)
    return answers


def score_answers(clip: ClipData, tracker: str, sets: dict[str, PointSet], answers: Answers) -> dict[str, dict]:
    """`track_sets`' answers scored per query set and answer: {mode + suffix: metrics, seconds, counts}."""
    height, width = clip.video.shape[1:3]
    rows = {}
    for suffix, (tracks, visible, seconds) in answers.items():
        common = {"clip": clip.spec.name, "tracker": tracker, "seconds": seconds, "frames": len(clip.video),
                  "size": f"{width}x{height}"}
        offset = 0
        for mode, points in sets.items():
            part = slice(offset, offset + len(points.queries))
            offset = part.stop
            if mode == LAST:
                metrics = last_frame_metrics(points.tracks, points.visible, tracks[part], visible[part], (width, height))
            else:
                metrics = all_metrics(points.queries, points.tracks, points.visible, tracks[part], visible[part], (width, height), mode)
            rows[mode + suffix] = {**common, **metrics, "queries": len(points.queries), "mode": mode}
    return rows


def evaluate(clip: ClipData, tracker: str, preset: str = "default", query_mode: str = "strided", device: str = "cpu") -> dict:
    """One tracker on one clip in one TAP-Vid mode: metrics (AJ, delta_avg, OA, TC) plus seconds and the query count."""
    return evaluate_modes(clip, tracker, preset, device, (query_mode,), long_range=False)[query_mode]
