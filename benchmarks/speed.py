"""End-to-end speed per engine preset on one synthetic clip: wall time per stage (flow, fit, dense export: seeding
the clip's motion field and mapping every pixel of one frame into all other frames through it), fit steps/s, correspondences/s, peak RSS at
the end of each stage (flow / fit / dense export: the process's high-water mark so far, so a stage that raises
it shows) and peak GPU memory on CUDA.

Each preset runs in its own process (peak RSS is per preset) and fits its full `trainer.steps`, except the
presets named in `--extrapolate` (e.g. `paper`, 100,000 steps): those are timed over `--steps` steps after
one warm-up step, their dense export over 3 frames, and both times are extrapolated (marked `~`). Run with `nice -n 10` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/speed.py --presets fast,preview,default,paper --extrapolate paper
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


def peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure(preset_name: str, frames: int, size: int, steps: int | None, device: str) -> dict:
    import numpy as np
    import torch

    from omnimotion_vfx.evaluation.synthetic import SceneParams, build_scene, render
    from omnimotion_vfx.flow import compute_correspondences
    from omnimotion_vfx.motion.build import clip_motion
    from omnimotion_vfx.tracking.fused_tracker import fit_fused
    from omnimotion_vfx.tracking.presets import run_preset

    video = render(build_scene(SceneParams(seed=7, frames=frames, width=size, height=size)))
    run = run_preset(preset_name).with_overrides({"device": device})
    config = run.engine
    t0 = time.perf_counter()
    corr = compute_correspondences(video, run.flow)
    flow_s = time.perf_counter() - t0
    flow_rss = peak_rss_mb()
    batch = config.sampler.pairs_per_step * config.sampler.points_per_pair
    if steps is None:
        timed = config.trainer.steps
        t0 = time.perf_counter()
        tracker = fit_fused(video, corr, config, run.fusion)
    else:
        warm_up = config.with_overrides({"trainer.steps": 1, "sampler.error_cache_every": 0})
        fit_fused(video, corr, warm_up, run.fusion)
        timed = steps
        t0 = time.perf_counter()
        tracker = fit_fused(video, corr, config.with_overrides({"trainer.steps": steps, "sampler.error_cache_every": 0}),
                            run.fusion)
    fit_s = time.perf_counter() - t0
    fit_rss = peak_rss_mb()
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    pixels = np.stack([xs.ravel(), ys.ravel()], 1)
    targets = range(1, frames) if steps is None else range(1, min(frames, 4))  # extrapolated: 3 frames, scaled
    t0 = time.perf_counter()
    motion = clip_motion(tracker, tracker.geometry, run.motion, device=tracker.device)
    for dst in targets:
        motion.field.map(0, pixels.astype(np.float32), dst)
    export_s = (time.perf_counter() - t0) * (frames - 1) / len(targets)
    full_fit_s = fit_s if steps is None else fit_s / steps * config.trainer.steps
    out = {
        "preset": preset_name, "device": device, "frames": frames, "size": size, "steps": config.trainer.steps,
        "batch": batch, "flow_s": round(flow_s, 1), "fit_s": round(full_fit_s, 1), "fit_estimated": steps is not None,
        "export_s": round(export_s, 1), "total_s": round(flow_s + full_fit_s + export_s, 1),
        "steps_per_s": round(timed / fit_s, 2), "correspondences_per_s": round(timed * batch / fit_s),
        "peak_rss_mb": [flow_rss, fit_rss, peak_rss_mb()],
    }
    if device == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="fast,preview,default")
    parser.add_argument("--extrapolate", default="paper", help="presets timed over --steps steps, fit time extrapolated")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one preset in this process
    parser.add_argument("--one-steps", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.frames, args.size, args.one_steps, args.device)))
        return
    extrapolate = {n.strip() for n in args.extrapolate.split(",") if n.strip()}
    print(f"clip: {args.frames} frames {args.size}x{args.size}, device {args.device}, {os.cpu_count()} cores")
    print("| preset | steps x batch | flow s | fit s | dense export s | total s | steps/s | corr/s | peak RSS MB (flow / fit / export) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in [n.strip() for n in args.presets.split(",") if n.strip()]:
        cmd = [sys.executable, __file__, "--one", name, "--frames", str(args.frames), "--size", str(args.size),
               "--device", args.device] + (["--one-steps", str(args.steps)] if name in extrapolate else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else str(done.returncode)
            print(f"| {name} | failed: {tail} |", flush=True)
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        mark = "~" if r["fit_estimated"] else ""
        print(f"| {name} | {r['steps']} x {r['batch']} | {r['flow_s']} | {mark}{r['fit_s']} | {mark}{r['export_s']} | "
              f"{mark}{r['total_s']} | {r['steps_per_s']} | {r['correspondences_per_s']} | {' / '.join(map(str, r['peak_rss_mb']))} |", flush=True)


if __name__ == "__main__":
    main()
