"""TAP-Vid metrics (AJ, <delta_avg, OA) and OmniMotion's temporal coherence (TC), numpy only.

Self-contained on purpose (like tapnet's `compute_tapvid_metrics`): this file can be copied into any project.

Conventions (one video; pool several videos by averaging their per-video metrics, as TAP-Vid does):
- `queries`  float [N, 3]: (t, x, y), t a 0-based frame index (rounded), x, y pixels. Note the order: this
  project's (t, x, y), not tapnet's (t, y, x).
- `gt_tracks`, `pred_tracks` float [N, T, 2]: (x, y) pixels in an image of `image_size` = (W, H).
- `gt_visible`, `pred_visible` bool [N, T] (tapnet takes "occluded"; this is its negation).
- Pixel coordinates are rescaled to a 256 x 256 raster (x * 256 / W, y * 256 / H) before any distance, so the
  thresholds 1, 2, 4, 8, 16 px and TC are in 256-raster pixels whatever the clip's resolution.
- `query_mode` 'strided': every frame except the query frame is evaluated; 'first': only frames after the
  query frame. The query frame itself is never evaluated.
- <delta_avg: fraction of GT-visible evaluated points predicted within each threshold (strictly less than),
  whatever the predicted visibility, averaged over the 5 thresholds. AJ: Jaccard per threshold, true positives /
  (GT visible + false positives), where a false positive is predicted visible but GT occluded or too far;
  averaged over thresholds. OA: fraction of evaluated points whose predicted visibility equals GT.
- TC (OmniMotion): mean L2 norm of (predicted acceleration - GT acceleration), acceleration
  p[t+1] - 2 p[t] + p[t-1], over every triple of consecutive frames where GT is visible in all three. Lower is
  better. Independent of the query frame and of predicted visibility.
All metrics except TC are returned in percent (0-100). A metric with nothing to average is NaN.
"""

from __future__ import annotations

import numpy as np

THRESHOLDS = (1, 2, 4, 8, 16)


def to_raster(xy: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Pixels of a (W, H) image -> the 256 x 256 evaluation raster."""
    width, height = image_size
    return np.asarray(xy, np.float64) * np.array([256.0 / width, 256.0 / height])


def evaluation_mask(queries: np.ndarray, frames: int, query_mode: str) -> np.ndarray:
    """bool [N, T]: which (query, frame) pairs are scored."""
    eye = np.eye(frames, dtype=np.int64)
    if query_mode == "first":
        table = np.cumsum(eye, axis=1) - eye
    elif query_mode == "strided":
        table = 1 - eye
    else:
        raise ValueError(f"unknown query_mode {query_mode!r}; use 'strided' or 'first'")
    query_frame = np.round(np.asarray(queries)[:, 0]).astype(np.int64)
    return table[query_frame] > 0


def _ratio(num: float, den: float) -> float:
    return float(100.0 * num / den) if den > 0 else float("nan")


def tapvid_metrics(
    queries: np.ndarray,
    gt_tracks: np.ndarray,
    gt_visible: np.ndarray,
    pred_tracks: np.ndarray,
    pred_visible: np.ndarray,
    image_size: tuple[int, int],
    query_mode: str = "strided",
) -> dict[str, float]:
    """AJ, <delta_avg and OA (plus per-threshold jaccard_d / pts_within_d) for one video; see module docstring."""
    gt_visible = np.asarray(gt_visible, bool)
    pred_visible = np.asarray(pred_visible, bool)
    evaluated = evaluation_mask(queries, gt_visible.shape[1], query_mode)
    gt = to_raster(gt_tracks, image_size)
    pred = to_raster(pred_tracks, image_size)
    metrics = {"occlusion_accuracy": _ratio(np.sum((pred_visible == gt_visible) & evaluated), np.sum(evaluated))}
    distance2 = np.sum(np.square(pred - gt), axis=-1)
    gt_positives = np.sum(gt_visible & evaluated)
    jaccards, withins = [], []
    for threshold in THRESHOLDS:
        within = distance2 < threshold**2
        correct = within & gt_visible
        withins.append(_ratio(np.sum(correct & evaluated), gt_positives))
        true_positives = np.sum(correct & pred_visible & evaluated)
        false_positives = np.sum(((~gt_visible) | (~within)) & pred_visible & evaluated)
        jaccards.append(_ratio(true_positives, gt_positives + false_positives))
        metrics[f"pts_within_{threshold}"] = withins[-1]
        metrics[f"jaccard_{threshold}"] = jaccards[-1]
    metrics["average_jaccard"] = float(np.mean(jaccards))
    metrics["average_pts_within_thresh"] = float(np.mean(withins))
    return metrics


def temporal_coherence(gt_tracks: np.ndarray, gt_visible: np.ndarray, pred_tracks: np.ndarray, image_size: tuple[int, int]) -> float:
    """OmniMotion's TC in 256-raster pixels; see module docstring."""
    gt = to_raster(gt_tracks, image_size)
    pred = to_raster(pred_tracks, image_size)
    vis = np.asarray(gt_visible, bool)
    triples = vis[:, :-2] & vis[:, 1:-1] & vis[:, 2:]
    if not triples.any():
        return float("nan")
    accel_gt = gt[:, 2:] - 2 * gt[:, 1:-1] + gt[:, :-2]
    accel_pred = pred[:, 2:] - 2 * pred[:, 1:-1] + pred[:, :-2]
    return float(np.linalg.norm(accel_pred - accel_gt, axis=-1)[triples].mean())


def endpoint_delta(queries: np.ndarray, gt_tracks: np.ndarray, gt_visible: np.ndarray, pred_tracks: np.ndarray,
                   image_size: tuple[int, int]) -> float:
    """<delta_avg at the clip's last frame, over queries from earlier frames whose GT is visible there: where
    chained trackers drift most (findings.md scores full-length shots this way). Percent; NaN if none."""
    last = np.asarray(gt_visible).shape[1] - 1
    scored = (np.round(np.asarray(queries)[:, 0]).astype(np.int64) < last) & np.asarray(gt_visible, bool)[:, last]
    if not scored.any():
        return float("nan")
    pred = to_raster(np.asarray(pred_tracks)[scored, last], image_size)
    distance = np.linalg.norm(pred - to_raster(np.asarray(gt_tracks)[scored, last], image_size), axis=-1)
    return float(100.0 * np.mean([np.mean(distance < threshold) for threshold in THRESHOLDS]))


def last_frame_metrics(gt_tracks: np.ndarray, gt_visible: np.ndarray, pred_tracks: np.ndarray, pred_visible: np.ndarray,
                       image_size: tuple[int, int]) -> dict[str, float]:
    """Long range, as findings.md scores full-length shots: queries from frame 0, scored at the last frame only.
    `within_d` (d in THRESHOLDS) and `delta_avg`: percent of the endpoints visible in GT predicted within d
    256-raster pixels; `median_px`: their median error; `visibility`: percent of all queries whose predicted
    visibility at the last frame equals GT; `endpoints`: how many GT-visible endpoints were scored."""
    seen = np.asarray(gt_visible, bool)[:, -1]
    called_visible = np.asarray(pred_visible, bool)[:, -1]
    out: dict[str, float] = {"visibility": _ratio(np.sum(seen == called_visible), len(seen)), "endpoints": float(seen.sum())}
    distance = np.linalg.norm(to_raster(np.asarray(pred_tracks)[seen, -1], image_size)
                              - to_raster(np.asarray(gt_tracks)[seen, -1], image_size), axis=-1)
    for threshold in THRESHOLDS:
        out[f"within_{threshold}"] = _ratio(np.sum(distance < threshold), len(distance))
    out["delta_avg"] = float(np.mean([out[f"within_{t}"] for t in THRESHOLDS])) if len(distance) else float("nan")
    out["median_px"] = float(np.median(distance)) if len(distance) else float("nan")
    return out


def all_metrics(
    queries: np.ndarray,
    gt_tracks: np.ndarray,
    gt_visible: np.ndarray,
    pred_tracks: np.ndarray,
    pred_visible: np.ndarray,
    image_size: tuple[int, int],
    query_mode: str = "strided",
) -> dict[str, float]:
    """The headline numbers: AJ, <delta_avg, OA (percent), TC (256-raster pixels) and the endpoint <delta_avg."""
    m = tapvid_metrics(queries, gt_tracks, gt_visible, pred_tracks, pred_visible, image_size, query_mode)
    return {
        "AJ": m["average_jaccard"],
        "delta_avg": m["average_pts_within_thresh"],
        "OA": m["occlusion_accuracy"],
        "TC": temporal_coherence(gt_tracks, gt_visible, pred_tracks, image_size),
        "end_delta": endpoint_delta(queries, gt_tracks, gt_visible, pred_tracks, image_size),
    }
