"""Dense exports on a plate with exact motion: STMap warps reproduce frames (PSNR), motion vectors follow Nuke's
directions and signs and round-trip forward then backward, mattes match the analytic occlusion; real EXRs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest
from click.testing import CliRunner

from export_synthetic import GroundTruthTracker, results_for
from omnimotion_vfx.exporters import ExportOptions, export_results
from omnimotion_vfx.exporters.dense_maps import MOTION_CHANNELS, motion_frame, stmap_frame
from omnimotion_vfx.exporters.mattes import matte_frame, polygon_coverage
from omnimotion_vfx.io.exr_writer import write_exr
from omnivfx_cli.main import main

POLYGON = [(32.0, 20.0), (70.0, 22.0), (68.0, 50.0), (34.0, 46.0)]  # clear of the square at 1001


def read_exr(path) -> tuple[dict[str, np.ndarray], oiio.ImageSpec]:
    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec()
    pixels = inp.read_image(oiio.FLOAT).reshape(spec.height, spec.width, spec.nchannels)
    inp.close()
    return {name: pixels[..., i] for i, name in enumerate(spec.channelnames)}, spec


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-12)))


@pytest.fixture(scope="module")
def tracker():
    return GroundTruthTracker()


@pytest.fixture(scope="module")
def exported(tracker, tmp_path_factory):
    out = tmp_path_factory.mktemp("dense")
    results = results_for(tracker, np.array([[1001, 40.0, 30.0]], np.float32))
    options = ExportOptions(out=out, reference_frame=1001, region_polygon=" ".join(f"{x},{y}" for x, y in POLYGON))
    written = export_results(results, ["motion", "stmap", "mattes"], options, tracker.map_points)
    return out, written


def test_exr_writer_names_types_and_compression(tmp_path):
    pixels = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    write_exr(tmp_path / "a.exr", pixels, ("forward.u", "forward.v", "visibility.forward"), half=(False, False, True),
              compression="piz", attributes={"omnivfx:frame": 1001})
    channels, spec = read_exr(tmp_path / "a.exr")
    assert set(channels) == {"forward.u", "forward.v", "visibility.forward"}
    assert spec.get_string_attribute("compression") == "piz" and spec.get_int_attribute("omnivfx:frame") == 1001
    formats = dict(zip(spec.channelnames, [str(f) for f in spec.channelformats]))
    assert formats == {"forward.u": "float", "forward.v": "float", "visibility.forward": "half"}
    np.testing.assert_array_equal(channels["forward.u"], pixels[..., 0])
    np.testing.assert_allclose(channels["visibility.forward"], pixels[..., 2], atol=1e-3)
    assert not list(tmp_path.glob(".*")), "no temporary file may be left behind"


def test_stmap_identity_is_pixel_centres():
    width, height = 9, 5

    def identity(src, xy, dst):
        return xy, np.ones(len(xy), bool)

    st = stmap_frame(identity, 1001, 1001, (width, height))
    np.testing.assert_allclose(st[0, :, 0], (np.arange(width) + 0.5) / width, atol=1e-7)
    np.testing.assert_allclose(st[:, 0, 1], 1 - (np.arange(height) + 0.5) / height, atol=1e-7)
    assert st[..., 2].min() == 1.0


def nuke_stmap(source: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """What Nuke's STMap node does: sample the source at (u W, v H), bottom-left origin, pixel centres +0.5."""
    height, width = source.shape[:2]
    return cv2.remap(source, u * width - 0.5, (1 - v) * height - 0.5, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_stmap_warps_reference_onto_each_frame(tracker, exported):
    out, written = exported
    assert [p.name for p in written["stmap"]] == [f"stmap.{f}.exr" for f in tracker.frames]
    reference = tracker.render(1001)
    scores = []
    for frame, path in zip(tracker.frames, written["stmap"]):
        channels, spec = read_exr(path)
        assert sorted(spec.channelnames) == ["A", "G", "R"] and spec.format == oiio.FLOAT
        visible = channels["A"] > 0.5
        warped = nuke_stmap(reference, channels["R"], channels["G"])
        target = tracker.render(frame)
        scores.append(psnr(warped[visible], target[visible]))
        assert visible.mean() > 0.6
    print("STMap PSNR per frame (dB):", [round(s, 1) for s in scores])
    assert scores[0] > 60 and min(scores) > 33


def test_motion_vectors_directions_and_signs():
    shifting = GroundTruthTracker(angle=0.0, velocity=(1.5, 0.8))
    motion = motion_frame(shifting.map_points, shifting.frames, 2, shifting.size)
    far = motion[55:60, 80:90]  # background the square never reaches: content moves right and down
    np.testing.assert_allclose(far[..., 0], 1.5, atol=1e-4)   # forward.u: towards the next frame, x right
    np.testing.assert_allclose(far[..., 1], -0.8, atol=1e-4)  # forward.v: y up, so down is negative
    np.testing.assert_allclose(far[..., 2], -1.5, atol=1e-4)  # backward.u: towards the previous frame
    np.testing.assert_allclose(far[..., 3], 0.8, atol=1e-4)
    first = motion_frame(shifting.map_points, shifting.frames, 0, shifting.size)
    assert np.all(first[..., 2:4] == 0) and np.all(first[..., 5] == 0)


def test_motion_vectors_round_trip(tracker, exported):
    out, written = exported
    paths = written["motion"]
    errors = []
    for here, there in zip(paths[:-1], paths[1:]):
        now, spec = read_exr(here)
        assert sorted(spec.channelnames) == sorted(MOTION_CHANNELS)  # EXR stores channels sorted
        nxt, _ = read_exr(there)
        height, width = now["forward.u"].shape
        xs, ys = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        # forward in Nuke axes -> internal position in the next frame
        qx, qy = xs + now["forward.u"], ys - now["forward.v"]
        sample = lambda channel: cv2.remap(nxt[channel], (qx - 0.5).astype(np.float32), (qy - 0.5).astype(np.float32),
                                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        back_x, back_y = qx + sample("backward.u"), qy - sample("backward.v")
        keep = (now["visibility.forward"] > 0.5) & (sample("visibility.backward") > 0.999)
        errors.append(np.hypot(back_x - xs, back_y - ys)[keep])
    errors = np.concatenate(errors)
    print(f"motion round trip on {errors.size} visible pixels: median {np.median(errors):.4f} px, "
          f"99th {np.percentile(errors, 99):.3f} px, within 0.1 px {np.mean(errors < 0.1):.4f}")
    assert np.median(errors) < 0.01 and np.mean(errors < 0.1) > 0.97


def analytic_matte(tracker: GroundTruthTracker, frame: int, coverage: np.ndarray) -> np.ndarray:
    width, height = tracker.size
    xs, ys = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    ref, vis = tracker.map_points(frame, np.stack([xs.ravel(), ys.ravel()], 1), 1001)
    inside = cv2.remap(coverage, ref[:, 0].reshape(height, width) - 0.5, ref[:, 1].reshape(height, width) - 0.5,
                       cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return (inside > 0.5) * vis.reshape(height, width)


def test_polygon_coverage_is_antialiased():
    coverage = polygon_coverage([(2.0, 2.0), (8.5, 2.0), (8.5, 6.25), (2.0, 6.25)], (12, 9))
    assert coverage[3, 4] == 1.0 and coverage[0, 0] == 0.0
    np.testing.assert_allclose(coverage[3, 8], 0.5, atol=0.13)  # the edge x = 8.5 halves column 8
    assert coverage.sum() == pytest.approx(6.5 * 4.25, rel=0.03)


def test_mattes_follow_region_and_occlusion(tracker, exported):
    out, written = exported
    coverage = polygon_coverage(POLYGON, tracker.size)
    square_frames = 0
    for frame, path in zip(tracker.frames, written["mattes"][1:]):
        channels, spec = read_exr(path)
        assert list(spec.channelnames) == ["A"]
        matte = channels["A"]
        want = analytic_matte(tracker, frame, coverage)
        assert np.mean(np.abs(matte - want)) < 0.03
        k = tracker.frames.index(frame)
        sx, sy = tracker.square[k].astype(int)
        covered = matte[sy + 2:sy + 18, sx + 2:sx + 18]
        assert covered.max() == 0.0, "the occluding square must read 0"
        square_frames += int(want[sy + 2:sy + 18, sx + 2:sx + 18].size > 0)
        soft = (matte > 0.02) & (matte < 0.98)
        assert soft.any(), "edges must be anti-aliased"
    assert written["mattes"][0].name == "visibility.csv" and square_frames == len(tracker.frames)


def test_mask_image_region_matches_polygon(tracker, tmp_path):
    coverage = polygon_coverage(POLYGON, tracker.size)
    cv2.imwrite(str(tmp_path / "mask.png"), np.round(coverage * 255).astype(np.uint8))
    results = results_for(tracker, np.array([[1001, 40.0, 30.0]], np.float32))
    options = ExportOptions(out=tmp_path, reference_frame=1001, region_mask=str(tmp_path / "mask.png"))
    written = export_results(results, ["mattes"], options, tracker.map_points)
    matte, _ = read_exr(written["mattes"][3])
    np.testing.assert_allclose(matte["A"], matte_frame(tracker.map_points, 1003, 1001, coverage), atol=0.01)


def test_track_then_export_with_chained_flow(tracker, tmp_path):
    plate = tracker.write_plate(tmp_path / "plate")
    out = tmp_path / "res"
    ran = CliRunner().invoke(main, ["track", plate, "--grid", "3", "--tracker", "chained-flow", "--out", str(out),
                                    "--export", "nuke,stmap"])
    assert ran.exit_code == 0, ran.output
    assert (out / "export" / "nuke" / "tracks.nk").is_file()
    channels, _ = read_exr(out / "export" / "stmap" / "stmap.1006.exr")
    reference = tracker.render(1001)
    warped = nuke_stmap(reference, channels["R"], channels["G"])
    visible = channels["A"] > 0.5
    score = psnr(warped[visible], tracker.render(1006)[visible])
    still = psnr(reference[visible], tracker.render(1006)[visible])
    print(f"chained-flow STMap 1006 -> 1001: PSNR {score:.1f} dB on {visible.mean():.2f} of the pixels "
          f"(no warp: {still:.1f} dB)")
    assert score > still + 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["job"]["tracker"] == "chained-flow"
