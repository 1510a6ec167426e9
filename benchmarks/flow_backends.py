"""Seconds per flow of each weight-free backend (DIS on the CPU, the torch TV-L1 on the CPU and, where torch
sees one, on CUDA at several batch sizes), the raw flow call only: no filtering, chaining or cache.

    nice -n 10 .venv/bin/python benchmarks/flow_backends.py                   # 256x256
    nice -n 10 .venv/bin/python benchmarks/flow_backends.py --size 854x480 --batches 1,8,32

The frames are a smooth random texture turned by 2 degrees and shifted by (3.3, -1.8) px per frame; the mean
endpoint error against that exact motion is printed as a sanity check (docs/flow.md has the tracking accuracy).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from omnimotion_vfx.flow import FlowConfig
from omnimotion_vfx.flow.backends import flows_of, make_backend


def moving_texture(width: int, height: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [frames, H, W, 3] and the exact frame-to-next flow [H, W, 2] (the same for every step)."""
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.random((2 * height, 2 * width)).astype(np.float32), (0, 0), 2.0)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX)
    centre = (width - 0.5, height - 0.5)
    step = cv2.getRotationMatrix2D(centre, 2.0, 1.0)
    step[:, 2] += (3.3, -1.8)
    video, matrix = [], np.eye(3)
    for _ in range(frames):
        frame = cv2.warpAffine(big, matrix[:2], (2 * width, 2 * height), flags=cv2.INTER_CUBIC)
        video.append(frame[height // 2:height // 2 + height, width // 2:width // 2 + width])
        matrix = np.vstack([step, [0, 0, 1]]) @ matrix
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    xs, ys = xs + width // 2, ys + height // 2
    target = np.stack([xs, ys, np.ones_like(xs)], -1) @ step.T
    truth = np.stack([target[..., 0] - xs, target[..., 1] - ys], -1)
    return np.repeat(np.stack(video).astype(np.uint8)[..., None], 3, axis=3), truth.astype(np.float32)


def timed(backend, requests: list, repeats: int) -> tuple[float, list[np.ndarray]]:
    flows_of(backend, requests[:2])  # warm-up: allocations, kernels
    start = time.perf_counter()
    for _ in range(repeats):
        flows = flows_of(backend, requests)
    return (time.perf_counter() - start) / (repeats * len(requests)), flows


def measure(config: FlowConfig, device: str, video: np.ndarray, truth: np.ndarray, flows: int,
            repeats: int) -> tuple[float, float]:
    """(seconds per flow, mean endpoint error px away from an 8 px border) of one backend over the first `flows`
    frame-to-next flows of a `moving_texture` clip; benchmarks/gpu_check.py reports these too."""
    seconds, result = timed(make_backend(config, video, device), [(i, i + 1, None) for i in range(flows)], repeats)
    inner = (slice(8, -8), slice(8, -8))
    return seconds, float(np.mean([np.linalg.norm(f - truth, axis=2)[inner].mean() for f in result]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256x256", help="WIDTHxHEIGHT")
    parser.add_argument("--flows", type=int, default=8, help="flows per timing")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batches", default="1,8,32", help="torch_batch values timed on CUDA")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    video, truth = moving_texture(width, height, args.flows + 1)
    runs = [("dis medium, finest scale 0", FlowConfig(), "cpu"), ("torch, cpu", FlowConfig(backend="torch"), "cpu")]
    try:
        import torch

        if torch.cuda.is_available():
            runs += [(f"torch, cuda, batch {b}", FlowConfig(backend="torch", torch_batch=b), "cuda")
                     for b in (int(v) for v in args.batches.split(","))]
    except ImportError:
        pass
    print(f"{width}x{height}, {args.flows} flows x {args.repeats}")
    print("| backend | s/flow | mean endpoint error px |\n|---|---|---|")
    for label, config, device in runs:
        seconds, error = measure(config, device, video, truth, args.flows, args.repeats)
        print(f"| {label} | {seconds:.4f} | {error:.3f} |", flush=True)


if __name__ == "__main__":
    main()
