"""Where the fusion's positions are limited on the rendered suite (issue 24, docs/engine.md "2026-12-05, evening").

The fusion runs on flow alone (as `benchmarks/fusion_levers.py` does: each query's "model" is its own position),
strided queries, the flow of each clip computed once into `--cache`. Per clip, and over the suite:

1. **Drift**: frames of the query's own visible run that the fusion also calls visible, by distance from the
   query frame: median error and the share within 1 px (256 raster). Errors that grow with distance are
   accumulated flow error.
2. **Fused against direct**: on the frames of that run with a scheduled pair from the query frame, the error of
   that one direct link (from the query's position, cycle-consistent) against the fused track's, per gap. Where
   the fused track is the better, the re-solve already uses the flow as well as one link can; better positions
   then need better long-gap flow, not other weights.
3. **Sub-pixel headroom**: AJ with the error of every run frame under 4 px halved (an oracle): what more exact
   positions in the query's run could buy, against what re-finding returned points could.
4. **Returned frames without flow evidence**: visible frames after the point was hidden or left the image that
   the fusion hides; how many have a cycle-consistent link from a frame it calls visible, and how many of those
   land within 4 px. The rest can come back only by appearance or geometry.

    OMNIVFX_SUITE_CACHE=... .venv/bin/python benchmarks/position_limits.py [--only orbit-spinners,textureless]

Seconds per short clip and 2-3 minutes per long one on a 2-core CPU (one fusion per clip); 6 minutes for the suite.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics  # noqa: E402
from omnimotion_vfx.fusion import FlowFusion  # noqa: E402
from flow_alone import fuse_on_flow_alone  # noqa: E402  (this folder is on the path of a script run)
from suite_options import chosen_clips, measure_suite, suite_arguments  # noqa: E402
from visibility_evidence import WITHIN_PX, query_run  # noqa: E402

DISTANCE_BINS = ((1, 2), (2, 4), (4, 8), (8, 16), (16, 32), (32, 10**6))  # frames from the query frame
HALVED_BELOW_PX = 4.0  # the oracle halves run errors under this (256 raster): near misses, not lost points


def drift(error: np.ndarray, in_run: np.ndarray, distance: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Errors [K] (256 raster) of the run's frames per bin of frames from the query frame."""
    return {(lo, hi): error[in_run & (distance >= lo) & (distance < hi)] for lo, hi in DISTANCE_BINS}


def direct_links(fusion: FlowFusion, query_xy: np.ndarray, query_index: np.ndarray, frames: np.ndarray,
                 rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scheduled pair (query frame, frame) of each row at the query's position: (landing [K, 2], valid [K]);
    invalid where no such pair is scheduled or the link fails its cycle check."""
    pair = fusion.pair_of[torch.as_tensor(query_index[rows]), torch.as_tensor(frames)].cpu().numpy()
    start = torch.as_tensor(query_xy[rows], dtype=torch.float64)
    flow, ok, _ = fusion.stack.links_at(torch.as_tensor(np.maximum(pair, 0)), start)
    return (start + flow).cpu().numpy(), ok.cpu().numpy() & (pair >= 0)


def evidence_for_returned(fusion: FlowFusion, tracks: np.ndarray, visible: np.ndarray, truth: np.ndarray,
                          hidden_returned: np.ndarray) -> tuple[int, int]:
    """Of the hidden returned frames [N, T]: how many some cycle-consistent link reaches from a frame the fusion
    calls visible (from the fused position there), and how many of those a link puts within WITHIN_PX."""
    reached = near = 0
    for k, j in zip(*np.nonzero(hidden_returned)):
        sources = np.nonzero(visible[k])[0]
        pair = fusion.pair_of[torch.as_tensor(sources), j].cpu().numpy()
        sources, pair = sources[pair >= 0], pair[pair >= 0]
        if len(sources) == 0:
            continue
        start = torch.as_tensor(tracks[k, sources], dtype=torch.float64)
        flow, ok, _ = fusion.stack.links_at(torch.as_tensor(pair), start)
        ok = ok.cpu().numpy()
        if not ok.any():
            continue
        reached += 1
        error = np.linalg.norm((start + flow).cpu().numpy() - truth[k, j], axis=-1) / fusion.scale
        near += int((ok & (error < WITHIN_PX)).any())
    return reached, near


def measure_clip(spec, cache: Path) -> dict:
    """Everything this benchmark reports for one clip."""
    fused = fuse_on_flow_alone(spec, cache)
    points, fusion, tracks, visible, error, others = (fused.points, fused.fusion, fused.tracks, fused.visible,
                                                      fused.error, fused.others)
    frames, index, to_raster, size = len(fused.clip.video), fused.index, fused.to_raster, fused.size
    xy = points.queries[:, 1:].astype(np.float64)
    own_run = query_run(points.visible, index)
    in_run = own_run & others & visible
    distance = np.abs(np.arange(frames)[None] - index[:, None])

    rows, run_frames = np.nonzero(in_run)
    landing, valid = direct_links(fusion, xy, index, run_frames, rows)
    direct_error = np.linalg.norm(landing - points.tracks[rows, run_frames], axis=-1) * to_raster
    gaps = distance[rows, run_frames]

    halved = tracks.copy()
    near = own_run & others & (error < HALVED_BELOW_PX)
    halved[near] = points.tracks[near] + 0.5 * (tracks[near] - points.tracks[near])
    returned = points.visible & others & ~own_run
    hidden_returned = returned & ~visible
    reached, landed = evidence_for_returned(fusion, tracks, visible, points.tracks, hidden_returned)
    return {
        "drift": drift(error, in_run, distance),
        "direct": {int(g): (direct_error[(gaps == g) & valid], error[rows, run_frames][(gaps == g) & valid])
                   for g in np.unique(gaps[valid])},
        "AJ": all_metrics(points.queries, points.tracks, points.visible, tracks, visible, size, "strided")["AJ"],
        "AJ halved": all_metrics(points.queries, points.tracks, points.visible, halved, visible, size, "strided")["AJ"],
        "returned": int(returned.sum()),
        "returned hidden": int(hidden_returned.sum()),
        "linked": reached,
        "linked within": landed,
    }


def _bin_label(lo: int, hi: int) -> str:
    return str(lo) if hi == lo + 1 else f"{lo}+" if hi >= 10**6 else f"{lo}-{hi - 1}"


def _median(values: np.ndarray) -> str:
    return f"{np.median(values):.2f}" if len(values) else "-"


def _share(values: np.ndarray, below: float) -> str:
    return f"{np.mean(values < below):.0%}" if len(values) else "-"


def main(argv: list[str] | None = None) -> int:
    args = suite_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    clips = chosen_clips(args, "position_limits")
    if clips is None:
        return 2
    results = measure_suite(clips, lambda spec: measure_clip(spec, Path(args.cache)),
                            lambda result: f"AJ {result['AJ']:5.1f}, with run errors under {HALVED_BELOW_PX:g} px "
                                           f"halved {result['AJ halved']:5.1f}")

    print("\n1. frames of the query's own run the fusion calls visible, by frames from the query frame: median error "
          "(256 raster) / within 1 px\n\n| clip | " + " | ".join(_bin_label(lo, hi) for lo, hi in DISTANCE_BINS)
          + " |\n|" + "---|" * (len(DISTANCE_BINS) + 1))
    for name, result in results.items():
        cells = [f"{_median(e)} / {_share(e, 1.0)}" for e in result["drift"].values()]
        print(f"| {name} | " + " | ".join(cells) + " |")

    gaps = sorted({g for result in results.values() for g in result["direct"]})
    print("\n2. the same frames where the query frame has a scheduled, cycle-consistent pair: the direct link's error "
          "against the fused track's, median / within 1 px, over the suite\n\n| gap | frames | direct link | fused |\n|---|---|---|---|")
    for gap in gaps:
        direct = np.concatenate([r["direct"][gap][0] for r in results.values() if gap in r["direct"]])
        fused = np.concatenate([r["direct"][gap][1] for r in results.values() if gap in r["direct"]])
        print(f"| {gap} | {len(direct):,} | {_median(direct)} / {_share(direct, 1.0)} | {_median(fused)} / {_share(fused, 1.0)} |")

    print(f"\n3. AJ with the run's errors under {HALVED_BELOW_PX:g} px halved (an oracle): mean "
          f"{np.mean([r['AJ'] for r in results.values()]):.1f} -> {np.mean([r['AJ halved'] for r in results.values()]):.1f}")

    print(f"\n4. visible frames after a return that the fusion hides, and the cycle-consistent links into them from "
          f"frames it calls visible\n\n| clip | returned | hidden | reached by a link | a link within {WITHIN_PX:g} px |\n"
          "|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['returned']:,} | {r['returned hidden']:,} | {r['linked']:,} | {r['linked within']:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
