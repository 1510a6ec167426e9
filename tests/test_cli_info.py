"""`omnivfx info`: what an artist checks before tracking, gaps included, through the real command."""

from __future__ import annotations

import os

import numpy as np
from plate_factory import write_image, write_plate, write_video


def _fields(stdout: str) -> dict[str, str]:
    return {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in stdout.splitlines())}


def test_info_of_a_complete_exr_plate(run_omnivfx, exr_plate_1001):
    result = run_omnivfx("info", exr_plate_1001)
    assert result.returncode == 0 and result.stderr == ""
    info = _fields(result.stdout)
    assert info["frames"] == "10 found (1001-1010)"
    assert info["range"] == "1001-1010" and info["gaps"] == "none"
    assert info["resolution"] == "96x64" and info["channels"] == "R, G, B" and info["layers"] == "none"
    assert info["pixels"] == "half (scene-linear)" and info["first file"] == "plate.1001.exr"


def test_info_lists_the_gaps_instead_of_failing(run_omnivfx, tmp_path):
    pattern = write_plate(tmp_path, count=10, size=(32, 24))
    for frame in (1003, 1004, 1008):
        os.remove(tmp_path / f"plate.{frame}.exr")
    result = run_omnivfx("info", tmp_path / "plate.####.exr")
    assert result.returncode == 0, result.stderr
    info = _fields(result.stdout)
    assert info["frames"] == "7 found (1001-1002,1005-1007,1009-1010)"
    assert info["range"] == "1001-1010" and info["gaps"] == "1003-1004,1008 (3 missing)"
    assert "missing frames 1003-1004,1008" in run_omnivfx("track", pattern, "--grid", "2").stderr


def test_info_shows_layers_and_windows(run_omnivfx, tmp_path):
    names = ["R", "G", "B", "A", "beauty.R", "beauty.G", "beauty.B", "depth.Z"]
    for frame in (1, 2):
        write_image(tmp_path / f"aov.{frame:04d}.exr", np.zeros((20, 30, 8), np.float32), "float", names,
                    x=4, y=2, full_x=0, full_y=0, full_width=48, full_height=27)
    info = _fields(run_omnivfx("info", tmp_path, "--frames", "1-2").stdout)
    assert info["frames"] == "2 found (1-2)" and info["resolution"] == "48x27"
    assert info["channels"] == ", ".join(names) and info["layers"] == "beauty, depth"
    assert info["windows"] == "data 30x20 at (4, 2), display 48x27 at (0, 0)"


def test_info_of_a_video(run_omnivfx, tmp_path):
    info = _fields(run_omnivfx("info", write_video(tmp_path / "clip.mp4", count=6)).stdout)
    assert info["frames"] == "6 found (1-6)" and info["resolution"] == "96x64" and info["fps"] == "24"
