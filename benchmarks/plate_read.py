"""Peak memory of reading a long plate at proxy size: the streaming claim of docs/plates.md, measured.

Writes a half-float EXR plate (ZIP) once into --dir, then, in a fresh process, reads it the way
`omnivfx track` does (open_plate + load_uint8) and prints peak RSS next to what holding the frames as float32
would cost. Run it niced on shared machines:

    nice -n 10 .venv/bin/python benchmarks/plate_read.py --frames 48 --width 3840 --height 2160 --proxy 0.25
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def write_plate(folder: Path, frames: int, width: int, height: int) -> str:
    import cv2
    import OpenImageIO as oiio

    folder.mkdir(parents=True, exist_ok=True)
    pattern = folder / "bench.%04d.exr"
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.random((height // 8, width // 8 + frames), np.float32), (width + 8 * frames, height))
    for i in range(frames):
        path = str(pattern) % (1001 + i)
        if os.path.exists(path):
            continue
        frame = np.ascontiguousarray(base[:, 8 * i : 8 * i + width])
        spec = oiio.ImageSpec(width, height, 3, "half")
        spec.attribute("compression", "zip")
        out = oiio.ImageOutput.create(path)
        out.open(path, spec)
        out.write_image(np.repeat(frame[..., None], 3, axis=2))
        out.close()
    return str(pattern)


def measure(pattern: str, proxy: float, frames: int) -> dict:
    """Runs in a fresh process so the plate writer's memory does not count."""
    from omnimotion_vfx.io import open_plate

    before = _status_kb("VmRSS") * 1024
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) so imports do not count
    t0 = time.monotonic()
    plate = open_plate(pattern, frames=f"1001-{1000 + frames}", proxy=proxy)
    clip = plate.load_uint8()
    seconds = time.monotonic() - t0
    peak = _status_kb("VmHWM") * 1024
    width, height = plate.full_size
    return {
        "frames": len(plate),
        "full_resolution": [width, height],
        "processing_resolution": list(plate.size),
        "seconds": round(seconds, 2),
        "frames_per_second": round(len(plate) / seconds, 2),
        "rss_before_read_mb": round(before / 2**20, 1),
        "peak_rss_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round((peak - before) / 2**20, 1),
        "one_float32_frame_mb": round(width * height * 3 * 4 / 2**20, 1),
        "uint8_clip_mb": round(clip.nbytes / 2**20, 1),
        "all_frames_float32_mb": round(len(plate) * width * height * 3 * 4 / 2**20, 1),
    }


def _status_kb(field: str) -> int:
    """A memory field of /proc/self/status (Linux), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--width", type=int, default=3840)
    parser.add_argument("--height", type=int, default=2160)
    parser.add_argument("--proxy", type=float, default=0.25)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/omnivfx_bench_plate"))
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the pattern to read in this process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.proxy, args.frames)))
        return
    pattern = write_plate(args.dir / f"{args.width}x{args.height}", args.frames, args.width, args.height)
    result = subprocess.run(
        [sys.executable, __file__, "--measure", pattern, "--proxy", str(args.proxy), "--frames", str(args.frames)], capture_output=True, text=True, check=True
    )
    print(json.dumps(json.loads(result.stdout), indent=2))


if __name__ == "__main__":
    main()
