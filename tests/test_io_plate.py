"""Plates as the tracker sees them: proxy size, video, colour, NaN warnings and streaming memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from plate_factory import to_linear, translating_frames, write_image, write_plate, write_video

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.io import open_plate
from omnimotion_vfx.io.colour import fallback_linear_to_display
from omnimotion_vfx.io.image_reader import STRIP_ROWS
from omnimotion_vfx.progress import ProgressReporter


class RecordingProgress(ProgressReporter):
    """Keeps events and warnings, to check what a user would be told."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []
        self.warnings: list[str] = []

    def _emit(self, event: dict) -> None:
        self.events.append(event)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def test_exr_plate_is_converted_to_perceptual_at_full_size(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    pattern = write_plate(tmp_path, count=3, size=(40, 30), pixel_type="float")
    plate = open_plate(pattern)
    assert plate.frame_numbers == [1001, 1002, 1003] and plate.size == plate.full_size == (40, 30)
    expected = fallback_linear_to_display(to_linear(translating_frames(3, (40, 30), (2.0, 1.0))[1]))
    np.testing.assert_allclose(plate.read(1), expected, atol=1e-5)


def test_proxy_halves_the_processing_size(tmp_path):
    plate = open_plate(write_plate(tmp_path, count=3, size=(96, 64)), proxy=0.5)
    assert plate.full_size == (96, 64) and plate.size == (48, 32) and plate.scale_xy == (0.5, 0.5)
    assert plate.read(0).shape == (32, 48, 3)
    assert plate.load_uint8().shape == (3, 32, 48, 3)


@pytest.mark.parametrize("proxy", [0.0, -0.5, 1.5])
def test_proxy_out_of_range(tmp_path, proxy):
    with pytest.raises(InputError, match=r"--proxy .* must be in \(0, 1\]"):
        open_plate(write_plate(tmp_path, count=2, size=(16, 12)), proxy=proxy)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mov"])
def test_video_through_opencv_numbered_from_one(tmp_path, name):
    path = str(write_video(tmp_path / name, count=10))
    plate = open_plate(path)
    assert plate.frame_numbers == list(range(1, 11)) and plate.full_size == (96, 64)
    truth = translating_frames(10, (96, 64), (2.0, 1.0))
    assert np.abs(plate.read(4) - truth[4]).mean() < 0.05
    clip = plate.load_uint8()
    assert clip.shape == (10, 64, 96, 3)
    assert np.abs(clip[7] / 255.0 - truth[7]).mean() < 0.05
    subset = open_plate(path, frames="3-6")
    assert subset.frame_numbers == [3, 4, 5, 6]
    np.testing.assert_array_equal(subset.load_uint8()[0], clip[2])


def test_layer_on_a_video_is_refused(tmp_path):
    with pytest.raises(InputError, match="--layer beauty applies to EXR plates"):
        open_plate(str(write_video(tmp_path / "clip.mp4", count=3)), layer="beauty")


def test_nan_frames_are_replaced_and_named_in_one_warning(tmp_path):
    pattern = write_plate(tmp_path, count=5, size=(24, 16), pixel_type="float")
    for frame in (1002, 1003, 1005):
        pixels = to_linear(translating_frames(1, (24, 16), (0, 0))[0])
        pixels[2, 3, 1] = np.nan if frame != 1005 else -np.inf
        write_image(tmp_path / f"plate.{frame}.exr", pixels, "float")
    progress = RecordingProgress()
    clip = open_plate(pattern).load_uint8(progress)
    assert clip.shape == (5, 16, 24, 3)
    assert progress.warnings == [f"NaN/Inf pixels replaced by 0 in frames 1002-1003,1005 of {pattern}"]
    assert [e["step"] for e in progress.events if e["stage"] == "read"][-1] == 5


def test_reading_at_proxy_streams_one_full_frame_at_a_time(tmp_path):
    """The whole plate never sits in memory as float32: numpy's peak while loading 12 frames at proxy 0.25 stays
    within one full-resolution float32 frame, a few decode strips (colour temporaries) and the uint8 clip.
    Holding a second full float frame would exceed it."""
    width, height, count = 256, 1024, 12
    pattern = write_plate(tmp_path, count=count, size=(width, height), pixel_type="half", step=(1.0, 0.0))
    plate = open_plate(pattern, proxy=0.25)
    full_frame = width * height * 3 * 4
    strip = STRIP_ROWS * width * 3 * 4
    clip_bytes = count * plate.size[0] * plate.size[1] * 3
    tracemalloc.start()
    try:
        clip = plate.load_uint8()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert clip.shape == (count, 256, 64, 3)
    budget = full_frame + 8 * strip + clip_bytes
    assert budget < 2 * full_frame
    assert peak < budget, f"peak {peak / 1e6:.2f} MB, one frame {full_frame / 1e6:.2f} MB"
