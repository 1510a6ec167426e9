"""Evidence beyond the flow links for the frames the fusion gets wrong or hides (issue 24, docs/engine.md
"2026-12-06, later: evidence beyond the flow links").

The fusion runs on flow alone (as `benchmarks/position_limits.py` does), strided queries, the flow of each clip
computed once into `--cache`. Four kinds of evidence the issue names, each scored against ground truth on the
same fused tracks:

1. **Photometric hiding**: a frame the fusion calls visible is hidden where the query's patch (11x11 at 256 lines,
   scaled with the clip: 19x19 at 480x270) correlates below tau with the image at the track ("query"), or where
   the track's patch correlates below tau with its patch at both neighbouring frames the fusion calls visible
   ("neighbours"; a pole passing in front changes the patch from one frame to the next; a frame with neither
   neighbour visible is not judged). A patch without contrast is not judged either. Per tau: frames hidden, the share of them occluded or 4 px or more off (what hiding should catch),
   AJ / OA.
2. **Chained flow where the fusion hides**: frames adjacent flow chained calls visible and the fusion hides, and
   the share within 4 px of each tracker's position there; then AJ / OA with those frames taken from chained
   flow (its position, called visible). If chained flow placed them, the fusion could take its positions.
3. **Keypoint re-acquisition**: SIFT matches (the flow package's two-way ratio-tested `KeypointMatcher`) from the
   query frame to each frame the fusion hides; the matches within `KEYPOINT_RADIUS_PX` of the query fit an
   affine (RANSAC); the prediction is scored: frames predicted, visible and within 4 px, occluded.
4. **Short runs away from the query**: runs the fusion calls visible outside the point's own run (before or after
   it: re-found, re-walked or reached by a long link) hidden when they are at most k frames long: AJ / OA.

    OMNIVFX_SUITE_CACHE=... .venv/bin/python benchmarks/remaining_evidence.py [--only thin-poles,arms]

About 12-14 minutes for the suite on a 2-core CPU with the flow cached (the long clips' fusions are most of it).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from omnimotion_vfx.evaluation.runner import track_sets  # noqa: E402
from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics  # noqa: E402
from omnimotion_vfx.flow.sparse_matches import KeypointMatcher  # noqa: E402
from omnimotion_vfx.fusion.surface_reacquisition import _patch  # noqa: E402
from flow_alone import fuse_on_flow_alone  # noqa: E402  (this folder is on the path of a script run)
from suite_options import chosen_clips, measure_suite, suite_arguments  # noqa: E402
from visibility_evidence import WITHIN_PX, query_run  # noqa: E402

TAUS = (0.0, 0.2, 0.4, 0.6)  # correlation below which a frame is hidden
PATCH_RADIUS_PX = 5  # 11x11 at 256 lines, scaled with the clip (as re-acquisition's check)
KEYPOINT_RADIUS_PX = 24.0  # matches this near the query (256 raster) fit its affine
KEYPOINT_MIN_MATCHES = 6
KEYPOINT_INLIER_PX = 1.5  # RANSAC reprojection threshold (256 raster)
SHORT_RUNS = (1, 2, 3, 5, 8, 10**6)  # runs outside the query's of at most this many frames hidden (10**6: all)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two patches [K, C]; NaN where either has no contrast (flat colour is no
    evidence of an occluder: NaN is below no threshold, so such frames are never hidden). Re-acquisition's own
    `_ncc` scores a flat patch 0, which would count as evidence here."""
    a, b = a - a.mean(0), b - b.mean(0)
    energy = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / energy) if energy > 1e-9 else float("nan")


def patch(image: np.ndarray, centre: np.ndarray, radius: int) -> np.ndarray:
    """Pixels [(2r+1)^2, C] around centre, whose pixel centres sit at +0.5 (re-acquisition's sampler, which
    reads array coordinates)."""
    return _patch(image, np.asarray(centre, np.float64) - 0.5, np.eye(2), radius)


def photometric_scores(video: np.ndarray, queries: np.ndarray, tracks: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query [N, T], neighbours [N, T]) correlations on the frames called visible (2 elsewhere and NaN where a
    patch has no contrast: never hidden)."""
    radius = max(3, round(PATCH_RADIUS_PX * max(video.shape[1:3]) / 256))
    to_query, to_neighbours = np.full(visible.shape, 2.0), np.full(visible.shape, 2.0)
    for k, (frame, x, y) in enumerate(queries):
        q = int(frame)
        template = patch(video[q], np.array([x, y]), radius)
        shown = {int(t): patch(video[t], tracks[k, t], radius) for t in np.nonzero(visible[k])[0]}
        for t, pixels in shown.items():
            if t == q:
                continue
            to_query[k, t] = correlation(template, pixels)
            beside = [correlation(pixels, shown[u]) for u in (t - 1, t + 1) if u in shown]
            judged = [score for score in beside if not np.isnan(score)]
            to_neighbours[k, t] = max(judged) if judged else 2.0
    return to_query, to_neighbours


def keypoint_predictions(video: np.ndarray, queries: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions [N, T, 2], predicted [N, T]) of the hidden frames an affine from keypoint matches reaches."""
    scale = max(video.shape[1:3]) / 256.0
    height, width = video.shape[1:3]
    gray = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in video]
    with ThreadPoolExecutor(2) as pool:
        matcher = KeypointMatcher(gray, "sift", 2000, 0.8, pool)
    positions = np.zeros(hidden.shape + (2,))
    predicted = np.zeros(hidden.shape, bool)
    matches: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for k, t in zip(*np.nonzero(hidden)):
        q, xy = int(queries[k, 0]), queries[k, 1:]
        if (q, t) not in matches:
            matches[q, t] = matcher.match(q, t)
        source, target = matches[q, t]
        near = np.linalg.norm(source - xy, axis=1) < KEYPOINT_RADIUS_PX * scale
        if near.sum() < KEYPOINT_MIN_MATCHES:
            continue
        affine, inliers = cv2.estimateAffine2D(source[near], target[near], ransacReprojThreshold=KEYPOINT_INLIER_PX * scale)
        if affine is None or inliers.sum() < KEYPOINT_MIN_MATCHES or inliers.mean() < 0.5:
            continue
        stretch = np.linalg.svd(affine[:, :2], compute_uv=False)
        p = affine[:, :2] @ xy + affine[:, 2]
        if stretch.max() > 2 or stretch.min() < 0.5 or not (0 <= p[0] < width and 0 <= p[1] < height):
            continue
        positions[k, t], predicted[k, t] = p, True
    return positions, predicted


def later_runs_hidden(visible: np.ndarray, query_frame: np.ndarray, longest: int) -> np.ndarray:
    """visible [N, T] with every called-visible run outside the query's own run of at most `longest` frames hidden."""
    out = visible.copy()
    own = query_run(visible, query_frame)
    for k in range(len(visible)):
        t, frames = 0, visible.shape[1]
        while t < frames:
            if not out[k, t] or own[k, t]:
                t += 1
                continue
            start = t
            while t < frames and visible[k, t] and not own[k, t]:
                t += 1
            if t - start <= longest:
                out[k, start:t] = False
    return out


def measure_clip(spec, cache: Path) -> dict:
    """Everything this benchmark reports for one clip."""
    fused = fuse_on_flow_alone(spec, cache)
    clip, sets, points, tracks, visible = fused.clip, fused.sets, fused.points, fused.tracks, fused.visible
    error, others, to_raster, size = fused.error, fused.others, fused.to_raster, fused.size
    wrong = ~points.visible | (error >= WITHIN_PX)

    def score(shown: np.ndarray, placed: np.ndarray = tracks) -> tuple[float, float]:
        metrics = all_metrics(points.queries, points.tracks, points.visible, placed, shown, size, "strided")
        return metrics["AJ"], metrics["OA"]

    result: dict = {"base": score(visible)}
    to_query, to_neighbours = photometric_scores(clip.video.astype(np.float32), points.queries, tracks, visible)
    for name, scores in (("query", to_query), ("neighbours", to_neighbours)):
        for tau in TAUS:
            hide = visible & others & (scores < tau)
            result[name, tau] = (int(hide.sum()), int((hide & wrong).sum()), *score(visible & ~hide))

    chained, chained_visible, _ = track_sets(clip, "chained-flow", sets)[""]
    chained_error = np.linalg.norm(chained - points.tracks, axis=-1) * to_raster
    take = ~visible & chained_visible & others
    only_chained = take & points.visible
    result["chained"] = (int(take.sum()), int(only_chained.sum()),
                         int((only_chained & (chained_error < WITHIN_PX)).sum()), int((only_chained & (error < WITHIN_PX)).sum()))
    result["chained taken"] = score(visible | take, np.where(take[..., None], chained, tracks))

    hidden = ~visible & others
    positions, predicted = keypoint_predictions(clip.video, points.queries, hidden)
    keypoint_error = np.linalg.norm(positions - points.tracks, axis=-1) * to_raster
    result["keypoints"] = (int((hidden & points.visible).sum()), int(predicted.sum()),
                           int((predicted & points.visible & (keypoint_error < WITHIN_PX)).sum()),
                           int((predicted & ~points.visible).sum()))
    for longest in SHORT_RUNS:
        result["runs", longest] = score(later_runs_hidden(visible, fused.index, longest))
    return result


def _mean(results: dict, key) -> str:
    values = np.array([r[key][-2:] for r in results.values()])
    return f"{values[:, 0].mean():.2f} / {values[:, 1].mean():.2f}"


def main(argv: list[str] | None = None) -> int:
    args = suite_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    clips = chosen_clips(args, "remaining_evidence")
    if clips is None:
        return 2
    results = measure_suite(clips, lambda spec: measure_clip(spec, Path(args.cache)),
                            lambda result: f"AJ / OA {result['base'][0]:5.2f} / {result['base'][1]:5.2f}")

    print(f"\n1. photometric hiding of frames called visible: frames hidden, share occluded or >= {WITHIN_PX:g} px off, "
          f"suite AJ / OA (as fused: {_mean(results, 'base')})\n\n| rule | tau | hidden | wrong there | AJ / OA |\n|---|---|---|---|---|")
    for name in ("query", "neighbours"):
        for tau in TAUS:
            hidden = sum(r[name, tau][0] for r in results.values())
            wrong = sum(r[name, tau][1] for r in results.values())
            print(f"| {name} | {tau:g} | {hidden:,} | {wrong / max(hidden, 1):.0%} | {_mean(results, (name, tau))} |")

    print(f"\n2. frames chained flow calls visible and the fusion hides: visible ones within {WITHIN_PX:g} px\n\n"
          "| clip | frames | visible | chained within | fusion within |\n|---|---|---|---|---|")
    for name, r in results.items():
        frames, shown, chained, fused = r["chained"]
        print(f"| {name} | {frames:,} | {shown:,} | {chained / max(shown, 1):.0%} | {fused / max(shown, 1):.0%} |")
    print(f"\nthose frames taken from chained flow (its position, visible): suite AJ / OA {_mean(results, 'chained taken')}")

    print(f"\n3. keypoint re-acquisition of hidden frames (SIFT from the query frame, affine of the matches within "
          f"{KEYPOINT_RADIUS_PX:g} px)\n\n| clip | hidden visible frames | predicted | visible, within {WITHIN_PX:g} px | occluded |\n"
          "|---|---|---|---|---|")
    for name, r in results.items():
        lost, fired, right, occluded = r["keypoints"]
        print(f"| {name} | {lost:,} | {fired:,} | {right:,} ({right / max(fired, 1):.0%}) | {occluded:,} |")

    print("\n4. runs outside the query's own run of at most k frames hidden: suite AJ / OA\n\n| k | AJ / OA |\n|---|---|")
    print(f"| (none) | {_mean(results, 'base')} |")
    for longest in SHORT_RUNS:
        print(f"| {'all' if longest >= 10**6 else longest} | {_mean(results, ('runs', longest))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
