"""Render a 3-D suite into the cache (docs/evaluation.md) and print what it cost and what its motion is like.

Per clip: frames, size, Cycles samples, seconds of ground truth and of rendering (per frame too), trajectories,
the share of trajectory frames visible, and the ground-truth motion in pixels per frame (median, 95th
percentile, max over visible neighbours). Clips already in the cache are reported from their stored timings
unless --force. Run alone on the CPU:

    .venv/bin/python benchmarks/render_suite.py --suite rendered
    .venv/bin/python benchmarks/render_suite.py --suite rendered --only long- --force
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

import numpy as np

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.evaluation.rendered.cache import cache_root, clip_folder, load_rendered
from omnimotion_vfx.evaluation.rendered.recipes import RENDERED_SUITES
from omnimotion_vfx.evaluation.suite import clips_matching


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="rendered", choices=sorted(RENDERED_SUITES))
    parser.add_argument("--only", default="", help="comma-separated parts of clip names")
    parser.add_argument("--force", action="store_true", help="render again even if the cache holds the clip")
    args = parser.parse_args(argv)
    try:
        specs = clips_matching(args.suite, args.only) if args.only else RENDERED_SUITES[args.suite]
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"cache: {cache_root()}")
    print("| clip | frames | size | samples | truth s | render s | s/frame | tracks | visible % | px/frame median | p95 | max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    started = time.perf_counter()
    totals = [0.0, 0.0, 0]
    for recipe in specs:
        if args.force:
            shutil.rmtree(clip_folder(recipe), ignore_errors=True)
        clip = load_rendered(recipe)
        step = np.linalg.norm(np.diff(clip.tracks, axis=1), axis=-1)
        both = clip.visible[:, 1:] & clip.visible[:, :-1]
        moves = step[both] if both.any() else np.zeros(1)
        render = clip.render
        totals[0] += render["truth_seconds"]
        totals[1] += render["render_seconds"]
        totals[2] += recipe.frames
        print(f"| {recipe.name} | {recipe.frames} | {recipe.width}x{recipe.height} | {recipe.samples} "
              f"| {render['truth_seconds']:.1f} | {render['render_seconds']:.1f} | {render['seconds_per_frame']:.2f} "
              f"| {len(clip.tracks)} | {100 * clip.visible.mean():.0f} | {np.median(moves):.1f} "
              f"| {np.percentile(moves, 95):.1f} | {moves.max():.1f} |", flush=True)
    size_mb = sum(p.stat().st_size for p in cache_root().rglob("*") if p.is_file()) / 2**20
    print(f"\n{len(specs)} clips, {totals[2]} frames: ground truth {totals[0]:.0f} s, render {totals[1]:.0f} s "
          f"({totals[1] / max(totals[2], 1):.2f} s/frame); this run {time.perf_counter() - started:.0f} s; cache {size_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
