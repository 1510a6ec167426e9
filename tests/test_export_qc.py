"""QC overlay from a real plate: image sequence, an H.264 mp4 at the plate's frame rate and a contact sheet;
visible points filled, occluded points hollow, each in its own colour and named; legible at HD."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from export_synthetic import GroundTruthTracker, results_for, write_results_folder
from omnimotion_vfx.exporters import ExportOptions, export_results
from omnimotion_vfx.exporters.qc_overlay import TrackOverlay, spread_subset, track_colours
from omnimotion_vfx.io.frame_rate import parse_frame_rate, plate_frame_rate
from omnimotion_vfx.io.sequence import find_sequence
from omnimotion_vfx.results.folder import TrackResults, build_manifest

QUERIES = np.array([[1001, 30.0, 30.0], [1001, 80.0, 50.0]], np.float32)


def probe(path: Path) -> dict:
    """What ffprobe would say: codec, pixel format, rate, size, frame count, and whether the index (moov) comes
    before the media (mdat), which is what lets a browser play while loading."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {"codec": stream.codec_context.name, "pix_fmt": stream.codec_context.pix_fmt,
                "rate": stream.average_rate, "size": (stream.codec_context.width, stream.codec_context.height),
                "frames": sum(1 for _ in container.decode(video=0))}
    data = path.read_bytes()
    info["faststart"] = 0 <= data.find(b"moov") < data.find(b"mdat")
    return info


def write_exr_plate(tracker: GroundTruthTracker, folder: Path, fps: tuple[int, int] | None) -> str:
    """The tracker's frames as half-float EXRs, with a `framesPerSecond` attribute when `fps` is given."""
    folder.mkdir(parents=True, exist_ok=True)
    for frame in tracker.frames:
        pixels = tracker.render(frame)
        spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], 3, "half")
        if fps is not None:
            spec.attribute("FramesPerSecond", oiio.TypeRational, fps)
        path = str(folder / f"plate.{frame:04d}.exr")
        out = oiio.ImageOutput.create(path)
        assert out.open(path, spec), oiio.geterror()
        assert out.write_image(np.ascontiguousarray(pixels ** 2.2, np.float32))
        out.close()
    return str(folder / "plate.%04d.exr")


def test_qc_overlay_outputs(tmp_path):
    tracker = GroundTruthTracker(width=160, height=96)
    plate = tracker.write_plate(tmp_path / "plate")
    results = results_for(tracker, QUERIES, ["wall", "far"], plate=plate)
    written = export_results(results, ["qc"], ExportOptions(out=tmp_path / "export"))["qc"]
    folder = tmp_path / "export" / "qc"
    assert [p.name for p in written] == [f"qc.{f}.png" for f in tracker.frames] + ["qc.mp4", "contact_sheet.png"]

    colours = track_colours(2)
    for t, frame in enumerate(tracker.frames):
        image = cv2.imread(str(folder / f"qc.{frame}.png"))
        assert image.shape == (96, 160, 3)
        x, y = np.round(results.tracks[0, t] - 0.5).astype(int)
        centre = image[y, x].astype(int)
        is_colour = np.abs(centre - colours[0]).max() < 40
        assert is_colour == bool(results.visible[0, t]), f"frame {frame}: filled only where visible"
    assert not results.visible[0].all() and results.visible[0].any()

    movie = probe(folder / "qc.mp4")
    assert movie == {"codec": "h264", "pix_fmt": "yuv420p", "rate": 24, "size": (160, 96),
                     "frames": len(tracker.frames), "faststart": True}, "a PNG plate declares no rate: 24"
    sheet = cv2.imread(str(folder / "contact_sheet.png"))
    assert sheet.shape[1] > 3 * 160 and sheet.shape[0] > 2 * 96


def test_qc_movie_plays_at_the_exr_plates_rate_and_odd_sizes_are_padded(tmp_path):
    tracker = GroundTruthTracker(width=161, height=97)
    plate = write_exr_plate(tracker, tmp_path / "plate25", (25, 1))
    assert plate_frame_rate(find_sequence(plate)) == 25
    results = results_for(tracker, QUERIES, ["wall", "far"], plate=plate)
    export_results(results, ["qc"], ExportOptions(out=tmp_path / "export"))
    movie = probe(tmp_path / "export" / "qc" / "qc.mp4")
    assert (movie["codec"], movie["pix_fmt"], movie["rate"], movie["size"]) == ("h264", "yuv420p", 25, (162, 98))
    assert movie["frames"] == len(tracker.frames) and movie["faststart"]
    assert cv2.imread(str(tmp_path / "export" / "qc" / "qc.1001.png")).shape == (97, 161, 3)

    export_results(results, ["qc"], ExportOptions(out=tmp_path / "ntsc", qc_fps=Fraction(24000, 1001)))
    assert probe(tmp_path / "ntsc" / "qc" / "qc.mp4")["rate"] == Fraction(24000, 1001), "--qc-fps wins over the plate"


def test_qc_fps_option_on_the_command_line(tmp_path, run_omnivfx):
    tracker = GroundTruthTracker(width=96, height=64, frames=range(1001, 1005))
    plate = write_exr_plate(tracker, tmp_path / "plate", None)
    folder = write_results_folder(tmp_path / "results", results_for(tracker, QUERIES, plate=plate))
    assert plate_frame_rate(find_sequence(plate)) is None
    done = run_omnivfx("export", folder, "--format", "qc", "--qc-fps", "23.976")
    assert done.returncode == 0, done.stderr
    assert probe(folder / "export" / "qc" / "qc.mp4")["rate"] == Fraction(24000, 1001), "23.976 is NTSC's 24000/1001"
    bad = run_omnivfx("export", folder, "--format", "qc", "--qc-fps", "fast")
    assert bad.returncode == 2 and "--qc-fps" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text, rate", [
    ("23.976", Fraction(24000, 1001)), ("23.98", Fraction(24000, 1001)), ("29.97", Fraction(30000, 1001)),
    ("47.952", Fraction(48000, 1001)), ("59.94", Fraction(60000, 1001)), ("119.88", Fraction(120000, 1001)),
    ("24000/1001", Fraction(24000, 1001)), ("24", 24), ("30", 30), ("60", 60), ("25", 25), ("12.5", Fraction(25, 2)),
    ("2997/125", Fraction(2997, 125)),  # a ratio is taken as written
])
def test_decimal_ntsc_rates_are_the_exact_1001_rates(text, rate):
    assert parse_frame_rate(text) == rate


@pytest.mark.parametrize("text", ["0", "-24", "1001"])
def test_frame_rates_outside_0_to_1000_are_refused(text):
    with pytest.raises(ValueError, match="frame rate is in"):
        parse_frame_rate(text)


def write_dpx(path: Path, fps: float) -> None:
    spec = oiio.ImageSpec(16, 8, 3, "uint16")
    spec.attribute("dpx:FrameRate", fps)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec)
    out.write_image(np.zeros((8, 16, 3), np.float32))
    out.close()


def test_frame_rate_from_dpx_header_and_video_container(tmp_path):
    write_dpx(tmp_path / "scan.0001.dpx", 25.0)
    assert plate_frame_rate(find_sequence(str(tmp_path / "scan.%04d.dpx"))) == 25
    write_dpx(tmp_path / "ntsc.0001.dpx", 23.976)  # a float32 in the header
    assert plate_frame_rate(find_sequence(str(tmp_path / "ntsc.%04d.dpx"))) == Fraction(24000, 1001)

    movie = tmp_path / "clip.mp4"
    with av.open(str(movie), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(30000, 1001))
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert plate_frame_rate(find_sequence(str(movie))) == Fraction(30000, 1001)


def hd_results(count: int, names: list[str] | None = None, seed: int = 0) -> TrackResults:
    """`count` tracks scattered over a 1920x1080 plate, moving right; every other one occluded at frame 2."""
    rng = np.random.default_rng(seed)
    queries = np.stack([np.full(count, 1001.0), rng.uniform(40, 1880, count), rng.uniform(60, 1020, count)], 1)
    tracks = queries[:, None, 1:] + np.arange(3)[None, :, None] * np.array([6.0, 2.0])
    visible = np.ones((count, 3), bool)
    visible[::2, 2] = False
    manifest = build_manifest(plate="hd.%04d.exr", frames=np.arange(1001, 1004), resolution=(1920, 1080),
                              tracker="test", preset="test", config={}, timings={})
    return TrackResults(np.arange(1001, 1004), queries, tracks, visible, names or [], manifest)


def grey_plate(width: int = 1920, height: int = 1080) -> np.ndarray:
    return np.full((height, width, 3), 110, np.uint8)


def test_names_are_drawn_beside_the_dots(tmp_path):
    results = hd_results(1, ["corner_left"])
    results.tracks[0] = [900.0, 500.0]
    named = TrackOverlay(results, (1920, 1080)).draw(grey_plate(), 1)
    bare = TrackOverlay(results, (1920, 1080), max_labels=0).draw(grey_plate(), 1)
    changed = np.any(named != bare, axis=2)
    label_area = changed[470:530, 905:1200]
    assert label_area.sum() > 300, "the name is drawn to the right of the dot"
    assert not changed[:400].any() and not changed[:900, :860].any(), "nothing else differs (but the legend's note)"


def test_hd_frame_is_legible(tmp_path):
    results = hd_results(1, ["track0001"])
    results.tracks[0] = [900.0, 500.0]
    named = TrackOverlay(results, (1920, 1080)).draw(grey_plate(), 1)
    bare = TrackOverlay(results, (1920, 1080), max_labels=0).draw(grey_plate(), 1)
    rows, cols = np.nonzero(np.any(named != bare, axis=2))
    assert rows.max() - rows.min() + 1 >= 14, "name glyphs at least 14 px tall at HD"
    assert cols.max() - cols.min() + 1 >= 100

    dot = np.all(named == track_colours(1)[0], axis=2)
    assert dot.sum() >= np.pi * 4 ** 2, "the dot is at least 4 px in radius at HD"
    corner = named[:80, :200] != grey_plate()[:80, :200]
    corner_rows = np.nonzero(np.any(corner, axis=(1, 2)))[0]
    assert corner_rows.max() - corner_rows.min() >= 25, "frame number (and its panel) readable in the corner"


def test_many_tracks_name_a_spread_subset_and_say_so():
    results = hd_results(400)
    overlay = TrackOverlay(results, (1920, 1080))
    assert 70 <= len(overlay.labelled) <= 130
    assert overlay.legend_note == f"{len(overlay.labelled)} of 400 named"
    picked = results.query_points[overlay.labelled, 1:]
    quadrants = {(int(x >= 960), int(y >= 540)) for x, y in picked}
    assert len(quadrants) == 4 and len(overlay.labelled) // 4 <= np.sum(picked[:, 0] < 960) <= 3 * len(overlay.labelled) // 4
    assert TrackOverlay(hd_results(60), (1920, 1080)).legend_note == "", "60 tracks at HD: every one named"


@pytest.mark.parametrize("count", [1, 5])
def test_spread_subset_picks_distinct_far_apart_points(count):
    points = np.array([[0.0, 0.0], [1.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0], [50.0, 50.0], [2.0, 1.0]])
    picked = spread_subset(points, count)
    assert len(set(picked.tolist())) == count
    if count == 5:
        assert set(picked.tolist()) == {0, 2, 3, 4, 5}
