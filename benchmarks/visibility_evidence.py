"""Where `default` still loses AJ on the rendered suite, and what the fitted model's depth order is worth as
visibility evidence (issue 24, docs/engine.md "2026-12-05").

One `default` fit per clip (strided queries), then, on that same fit:
- the fused tracks scored with the fusion's flow rules, with `refine_visibility="flow+model"`, with the model's
  depth order alone, and with ground-truth visibility (how much perfect visibility decisions would add);
- precision and recall of "occluded" for each visibility source, against ground truth;
- the fused tracks' visible frames split into those in the query's own visible run and those after the point
  was hidden or left the image and came back: how many lie within 4 px and how many the fusion hides.

    OMNIVFX_SUITE_CACHE=... .venv/bin/python benchmarks/visibility_evidence.py [--only thin-poles,arms]

32-57 s a short clip and 3-4 min a long one on a 2-core CPU (one fit, two fusions; 19 min for the suite)."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from omnimotion_vfx.clip_geometry import ClipGeometry  # noqa: E402
from omnimotion_vfx.evaluation.baselines import build_evaluation_tracker  # noqa: E402
from omnimotion_vfx.evaluation.runner import prepare_clip, query_sets  # noqa: E402
from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics  # noqa: E402
from omnimotion_vfx.progress import NullProgress, StopToken  # noqa: E402
from omnimotion_vfx.tracking.registry import TrackerContext  # noqa: E402
from suite_options import chosen_clips, measure_suite, suite_arguments  # noqa: E402  (this folder is on the path of a script run)

SOURCES = ("flow rules", "flow+model", "model's depth order")
RETURN_SPLIT = ("in the query's own visible run", "after hiding or leaving the image")
WITHIN_PX = 4.0  # 256 raster, the middle of TAP-Vid's thresholds


def query_run(visible: np.ndarray, query_frame: np.ndarray) -> np.ndarray:
    """bool [N, T]: the unbroken visible run around each query frame."""
    run = np.zeros_like(visible)
    frames = visible.shape[1]
    for k, q in enumerate(query_frame):
        start = end = q
        while start > 0 and visible[k, start - 1]:
            start -= 1
        while end + 1 < frames and visible[k, end + 1]:
            end += 1
        run[k, start:end + 1] = True
    return run


def measure_clip(spec, preset: str) -> dict:
    """Everything this benchmark reports for one clip, as counts and metrics."""
    clip = prepare_clip(spec)
    points = query_sets(clip, ("strided",), long_range=False)["strided"]
    frames, (height, width) = len(clip.video), clip.video.shape[1:3]
    index = points.queries[:, 0].astype(int)
    xy = points.queries[:, 1:].astype(np.float32)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        context = TrackerContext(Path(work), preset, "cpu", NullProgress(), StopToken(), overrides={})
        tracker, _ = build_evaluation_tracker("omnimotion", clip.video, ClipGeometry(tuple(range(frames))), context)
        fit_seconds = time.perf_counter() - start
        model_tracks, model_visible = tracker.track_internal(index, xy, refine=False)
        base = tracker.fusion.config
        fused = {}
        for rule in ("flow", "flow+model"):
            tracker.fusion.config = dataclasses.replace(base, refine_visibility=rule)
            fused[rule] = tracker.track_internal(index, xy)
        tracker.fusion.config = base
    tracks, flow_visible = fused["flow"]
    assert np.array_equal(tracks, fused["flow+model"][0]), "visibility rules must not move the tracks"
    visibility = {"flow rules": flow_visible, "flow+model": fused["flow+model"][1],
                  "model's depth order": model_visible, "ground-truth visibility": points.visible}
    scored = {name: all_metrics(points.queries, points.tracks, points.visible, tracks, seen, (width, height), "strided")
              for name, seen in visibility.items()}
    scored["the model's own tracks"] = all_metrics(points.queries, points.tracks, points.visible, model_tracks,
                                                   model_visible, (width, height), "strided")
    others = np.ones_like(points.visible)
    others[np.arange(len(index)), index] = False
    occluded = ~points.visible & others
    sources = {name: [int((~visibility[name] & occluded).sum()), int((~visibility[name] & points.visible & others).sum()),
                      int(occluded.sum())] for name in SOURCES}
    error = np.linalg.norm(tracks - points.tracks, axis=-1) * 256 / max(width, height)
    in_run = query_run(points.visible, index) & others
    split = {}
    for name, frames_of in zip(RETURN_SPLIT, (in_run, points.visible & others & ~in_run)):
        split[name] = [int(frames_of.sum()), int((frames_of & (error < WITHIN_PX)).sum()), int((frames_of & ~flow_visible).sum())]
    return {"scored": scored, "sources": sources, "split": split, "fit_s": fit_seconds,
            "all_s": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    parser = suite_arguments(__doc__.split("\n\n")[0], cache=False)
    parser.add_argument("--preset", default="default")
    args = parser.parse_args(argv)
    clips = chosen_clips(args, "visibility_evidence")
    if clips is None:
        return 2
    results = measure_suite(clips, lambda spec: measure_clip(spec, args.preset),
                            lambda result: "  ".join(f"{name}: {m['AJ']:.1f}/{m['OA']:.1f}" for name, m in result["scored"].items())
                            + f"  (fit {result['fit_s']:.0f} s, all {result['all_s']:.0f} s)")
    names = list(next(iter(results.values()))["scored"]) if results else []
    print("\nAJ / OA, strided, the same fit and fused tracks in every column but the last (the model's own tracks)\n")
    print("| clip | " + " | ".join(names) + " |\n|" + "---|" * (len(names) + 1))
    for clip_name, result in results.items():
        print(f"| {clip_name} | " + " | ".join(f"{result['scored'][n]['AJ']:.1f} / {result['scored'][n]['OA']:.1f}" for n in names) + " |")
    print("| **mean** | " + " | ".join(
        f"{np.mean([r['scored'][n]['AJ'] for r in results.values()]):.1f} / {np.mean([r['scored'][n]['OA'] for r in results.values()]):.1f}"
        for n in names) + " |")
    print("\n\"occluded\" against ground truth (query frames excluded)\n\n| visibility | hides | of them visible | occluded precision | occluded recall |\n|---|---|---|---|---|")
    for name in SOURCES:
        right, wrong, occluded = (sum(r["sources"][name][k] for r in results.values()) for k in range(3))
        print(f"| {name} | {right + wrong:,} | {wrong:,} | {right / max(right + wrong, 1):.3f} | {right / max(occluded, 1):.3f} |")
    print(f"\nvisible frames of the fused tracks (query frames excluded)\n\n| clip | frames {RETURN_SPLIT[0]} | within {WITHIN_PX:g} px | hidden | "
          f"frames {RETURN_SPLIT[1]} | within {WITHIN_PX:g} px | hidden |\n|---|---|---|---|---|---|---|")
    for clip_name, result in list(results.items()) + [("**all**", None)]:
        counts = [[sum(r["split"][name][k] for r in results.values()) for k in range(3)] if result is None
                  else result["split"][name] for name in RETURN_SPLIT]
        print(f"| {clip_name} | " + " | ".join(f"{n:,} | {within / max(n, 1):.1%} | {hidden / max(n, 1):.1%}"
                                             for n, within, hidden in counts) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
