"""Flow benchmark: speed per pair, and coverage/precision of the kept correspondences per gap, on synthetic
plates with exact ground truth (omnimotion_vfx.evaluation).

    nice -n 10 .venv/bin/python benchmarks/flow.py                    # speed + accuracy on the standard suite
    nice -n 10 .venv/bin/python benchmarks/flow.py --suite tiny       # quick check
    nice -n 10 .venv/bin/python benchmarks/flow.py --clip100          # also the 100-frame 854x480 target run

Speed: seconds per ordered pair (flow, cycle and appearance checks, chaining, cache write) at 256x256 and
854x480, wall and CPU, for each DIS preset. Accuracy: for every kept match of every scheduled pair, the true
position of the source pixel centre in the target frame comes from the analytic layer transforms; coverage is
the fraction of pixels with a kept match, precision the fraction of kept matches within 1 and 3 px.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace

import numpy as np

from omnimotion_vfx.evaluation.suite import suite
from omnimotion_vfx.evaluation.synthetic import SceneParams, build_scene, front_layer, query_layers, render
from omnimotion_vfx.flow import FlowConfig, compute_correspondences


def pair_ground_truth(scene, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact target positions [H, W, 2] in frame j of every pixel centre of frame i, and whether the point is
    visible there (inside the image, its own layer in front)."""
    width, height = scene.size
    centres = np.stack(np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5), -1).reshape(-1, 2)
    layer_of = query_layers(scene, np.column_stack([np.full(len(centres), i), centres]))
    target = np.empty_like(centres)
    for k in np.unique(layer_of):
        rows = layer_of == k
        m = scene.layers[k].matrices[j] @ np.linalg.inv(scene.layers[k].matrices[i])
        target[rows] = centres[rows] @ m[:2, :2].T + m[:2, 2]
    inside = (target[:, 0] >= 0) & (target[:, 0] < width) & (target[:, 1] >= 0) & (target[:, 1] < height)
    visible = inside.copy()
    visible[inside] &= front_layer(scene, j, target[inside]) == layer_of[inside]
    return target.reshape(height, width, 2), visible.reshape(height, width)


def gap_label(gap: int, frames: int) -> str:
    return "T-1" if gap == frames - 1 else str(gap)


def accuracy(suite_name: str, config: FlowConfig) -> None:
    stats: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(6))  # pixels, kept, <1, <3, GT-visible, kept on GT-occluded
    sparse = np.zeros(3)  # matches, <1, <3
    for spec in suite(suite_name):
        scene = build_scene(spec.params)
        video = render(scene)
        t0 = time.time()
        corr = compute_correspondences(video, config)
        print(f"  {spec.name}: {video.shape[0]} frames {video.shape[2]}x{video.shape[1]}, {len(corr.pairs)} pairs, "
              f"{time.time() - t0:.1f} s", file=sys.stderr, flush=True)
        width, height = scene.size
        centres = np.stack(np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5), -1)
        for (i, j), pair in corr.pairs.items():
            target, visible = pair_ground_truth(scene, i, j)
            error = np.linalg.norm(centres + pair.flow.astype(np.float64) - target, axis=2)[pair.valid]
            row = stats[gap_label(abs(j - i), scene.frames)]
            row += (pair.valid.size, pair.valid.sum(), (error < 1).sum(), (error < 3).sum(), visible.sum(), (pair.valid & ~visible).sum())
        if corr.sparse is not None and len(corr.sparse.i):
            for i, j in set(zip(corr.sparse.i.tolist(), corr.sparse.j.tolist())):
                rows = (corr.sparse.i == i) & (corr.sparse.j == j)
                target, _ = pair_ground_truth(scene, i, j)
                xy_i = corr.sparse.xy_i[rows]
                px = np.clip(xy_i.astype(int), 0, [width - 1, height - 1])
                # the true position of the keypoint itself: the pixel's transform applied at its sub-pixel position
                true = target[px[:, 1], px[:, 0]] + (xy_i - (px + 0.5))
                err = np.linalg.norm(corr.sparse.xy_j[rows] - true, axis=1)
                sparse += (len(err), (err < 1).sum(), (err < 3).sum())
    order = sorted(stats, key=lambda g: (g == "T-1", int(g) if g != "T-1" else 0))
    print(f"\nCorrespondences per gap, suite '{suite_name}', DIS {config.dis_preset}, schedule {config.pairs}")
    print("| gap | pairs' pixels | coverage | GT visible | kept within 1 px | kept within 3 px | kept on GT-occluded |")
    print("|---|---|---|---|---|---|---|")
    for g in order:
        n, kept, p1, p3, vis, occ = stats[g]
        print(f"| {g} | {int(n):,} | {kept / n:.3f} | {vis / n:.3f} | {p1 / max(kept, 1):.3f} | {p3 / max(kept, 1):.3f} | {occ / max(kept, 1):.3f} |")
    if sparse[0]:
        print(f"\nSparse long-range matches (where dense failed): {int(sparse[0]):,}, within 1 px {sparse[1] / sparse[0]:.3f}, within 3 px {sparse[2] / sparse[0]:.3f}")


def timed_run(video: np.ndarray, config: FlowConfig) -> tuple[float, float, int]:
    """(wall s, CPU s of this process, pairs) of one full computation with the cache written to a temp folder."""
    with tempfile.TemporaryDirectory() as cache:
        wall, cpu = time.perf_counter(), time.process_time()
        corr = compute_correspondences(video, config, cache)
        return time.perf_counter() - wall, time.process_time() - cpu, len(corr.pairs)


def clip_params(width: int, height: int, frames: int) -> SceneParams:
    k = width / 256
    return SceneParams(seed=7, width=width, height=height, frames=frames, camera_speed=2.0 * k, object_speed=3.0 * k)


def speed(frames: int) -> None:
    print(f"\nSeconds per ordered pair (log schedule on a {frames}-frame clip, cache on, {os.cpu_count()} cores)")
    print("| size | DIS preset | pairs | wall s/pair | CPU s/pair |")
    print("|---|---|---|---|---|")
    for width, height in ((256, 256), (854, 480)):
        video = render(build_scene(clip_params(width, height, frames)))
        for preset in ("ultrafast", "fast", "medium"):
            wall, cpu, pairs = timed_run(video, FlowConfig(dis_preset=preset, sparse=False))
            print(f"| {width}x{height} | {preset} | {pairs} | {wall / pairs:.3f} | {cpu / pairs:.3f} |", flush=True)


def clip100(config: FlowConfig) -> None:
    video = render(build_scene(clip_params(854, 480, 100)))
    wall, cpu, pairs = timed_run(video, config)
    print(f"\n100-frame 854x480 clip, schedule {config.pairs}, DIS {config.dis_preset}, sparse {config.sparse}: "
          f"{pairs} pairs, {wall:.1f} s wall, {cpu:.1f} s CPU ({os.cpu_count()} cores, shared machine: wall depends on load)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="standard", help="evaluation suite: tiny, standard, long")
    parser.add_argument("--preset", default="default", help="flow preset: preview, default, paper")
    parser.add_argument("--dis-preset", help="override the preset's DIS preset: ultrafast, fast, medium")
    parser.add_argument("--speed-frames", type=int, default=8, help="frames of the speed clips")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--clip100", action="store_true", help="also time the 100-frame 854x480 target clip")
    parser.add_argument("--sparse", action="store_true", help="also compute and score the SIFT long-range matches")
    args = parser.parse_args()
    config = FlowConfig.preset(args.preset)
    if args.dis_preset:
        config = replace(config, dis_preset=args.dis_preset)
    if args.sparse:
        config = replace(config, sparse=True)
    if not args.no_speed:
        speed(args.speed_frames)
    if not args.no_accuracy:
        accuracy(args.suite, config)
    if args.clip100:
        clip100(config)


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
