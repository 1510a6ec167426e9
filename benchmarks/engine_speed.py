"""Engine speed per preset on this machine: fit steps/s, correspondences/s, peak RSS (and peak GPU memory).

Each preset runs in its own process (so peak RSS is per preset) on a synthetic clip with the preview flow
preset; only `--steps` steps are timed (after one warm-up step), so the numbers are rates, not fit times.
The fit time of a preset is its trainer.steps divided by steps/s. Run with `nice -n 10` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/engine_speed.py --presets preview,default --frames 48 --size 256
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def measure(preset_name: str, frames: int, size: int, steps: int, device: str) -> dict:
    import numpy as np
    import torch

    from omnimotion_vfx.evaluation.synthetic import SceneParams, build_scene, render
    from omnimotion_vfx.flow import FlowConfig, compute_correspondences
    from omnimotion_vfx.tracking.fused_tracker import fit_fused
    from omnimotion_vfx.tracking.presets import run_preset

    video = render(build_scene(SceneParams(seed=7, frames=frames, width=size, height=size)))
    t0 = time.perf_counter()
    corr = compute_correspondences(video, FlowConfig.preset("preview"))
    flow_s = time.perf_counter() - t0
    run = run_preset(preset_name).with_overrides({"device": device, "sampler.error_cache_every": 0})
    config = run.engine
    batch = config.sampler.pairs_per_step * config.sampler.points_per_pair
    fit_fused(video, corr, config.with_overrides({"trainer.steps": 1}), run.fusion)  # warm-up: imports, allocator
    t0 = time.perf_counter()
    tracker = fit_fused(video, corr, config.with_overrides({"trainer.steps": steps}), run.fusion)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ys, xs = [a.ravel() + 0.5 for a in np.mgrid[0:size:4, 0:size:4]]
    tracker.engine.map_points(0, np.stack([xs, ys], 1), frames - 1)
    map_s = time.perf_counter() - t0
    out = {
        "preset": preset_name, "device": device, "frames": frames, "size": size, "flow_s": round(flow_s, 2),
        "steps_per_s": round(steps / fit_s, 3), "correspondences_per_s": round(steps * batch / fit_s, 1),
        "samples_per_ray": config.render.samples, "batch": batch,
        "est_fit_min": round(config.trainer.steps / (steps / fit_s) / 60, 1),
        "map_points_per_s": round(len(xs) / map_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if device == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="preview,default")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one preset in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.frames, args.size, args.steps, args.device)))
        return
    print("| preset | device | clip | samples/ray | batch | steps/s | corr/s | est. fit min | map pts/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.presets.split(","):
        cmd = [sys.executable, __file__, "--one", name, "--frames", str(args.frames), "--size", str(args.size),
               "--steps", str(args.steps), "--device", args.device]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"| {name} | failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode} |")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {name} | {r['device']} | {r['frames']}f {r['size']}px | {r['samples_per_ray']} | {r['batch']} | "
              f"{r['steps_per_s']} | {r['correspondences_per_s']} | {r['est_fit_min']} | {r['map_points_per_s']} | {r['peak_rss_mb']} |",
              flush=True)


if __name__ == "__main__":
    main()
