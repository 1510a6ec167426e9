"""`omnivfx pin` end to end: a generated PNG plate in, real EXRs out, read back with OpenImageIO; a tracked
results folder reloaded by pin and export without refitting, and one recorded by pin when it has to fit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest
from test_pin_synthetic_plate import DISK_RADIUS, FRAMES, SIZE, SyntheticPlate, make_plate

from omnimotion_vfx.pin.graphic import read_rgba, srgb_decode
from omnimotion_vfx.pin.warp import polygon_coverage

CORNERS_UV = np.array([[30.0, 20.0], [130.0, 20.0], [130.0, 100.0], [30.0, 100.0]])
REF = 1003
OMNIVFX = [sys.executable, "-m", "omnivfx_cli.main"]


def _read(path: Path) -> dict[str, np.ndarray]:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    pixels = inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT).reshape(spec.height, spec.width, spec.nchannels)
    inp.close()
    return {name: pixels[..., i] for i, name in enumerate(spec.channelnames)}


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SyntheticPlate]:
    folder = tmp_path_factory.mktemp("pin_shot")
    plate = make_plate()
    for frame, image in zip(FRAMES, plate.uint8()):
        cv2.imwrite(str(folder / f"plate.{frame:04d}.png"), image[..., ::-1])
    ramp = np.linspace(40, 220, 100, dtype=np.uint8)
    graphic = np.zeros((80, 100, 4), np.uint8)
    graphic[..., 0], graphic[..., 1], graphic[..., 2], graphic[..., 3] = ramp[None, :], 90, 200, 255  # BGRA
    cv2.imwrite(str(folder / "logo.png"), graphic)
    return folder, plate


def test_pin_command_writes_premultiplied_graphic_holdout_comp_and_stmap(shot: tuple[Path, SyntheticPlate]) -> None:
    folder, plate = shot
    corners = plate.plane_point(REF, CORNERS_UV)
    command = OMNIVFX + [
        "pin", str(folder / "plate.%04d.png"), "--graphic", str(folder / "logo.png"), "--at", str(REF),
        "--corners", ",".join(f"{v:.3f}" for v in corners.ravel()), "--tracker", "chained-flow",
        "--results", str(folder / "results"), "--out", str(folder / "out" / "comp.####.exr"), "--over",
        "--stmap", str(folder / "stmap"),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    # stderr is a pipe, not a terminal: a few log lines per stage, no progress bar
    assert "\r" not in run.stderr and len(run.stderr.splitlines()) < 40, run.stderr
    assert "omnivfx: pin: started, " in run.stderr and "omnivfx: motion field: done, " in run.stderr
    print("\n" + run.stdout.strip())

    comps = sorted((folder / "out").glob("comp.*.exr"))
    stmaps = sorted((folder / "stmap").glob("stmap.*.exr"))
    assert [p.name for p in comps] == [f"comp.{f:04d}.exr" for f in FRAMES] and len(stmaps) == len(FRAMES)
    footprint_iou, holdout_iou = [], []
    for index, frame in enumerate(FRAMES):
        comp = _read(folder / "out" / f"comp.{frame:04d}.exr")
        assert set(comp) == {"R", "G", "B", "A", "pin.R", "pin.G", "pin.B", "pin.A", "holdout.Y"}
        plate_linear = srgb_decode(plate.uint8()[index].astype(np.float32) / 255.0)
        assert np.allclose(comp["R"], comp["pin.R"] + plate_linear[..., 0] * (1 - comp["pin.A"]), atol=1e-4)
        stmap = _read(folder / "stmap" / f"stmap.{frame:04d}.exr")
        assert set(stmap) == {"R", "G", "A", "holdout.Y"}
        footprint = comp["pin.A"] + comp["holdout.Y"]  # held-out graphic + holdout = the graphic's footprint
        truth = polygon_coverage(plate.plane_point(frame, CORNERS_UV), (SIZE, SIZE)) > 0.5
        footprint_iou.append(((footprint > 0.5) & truth).sum() / ((footprint > 0.5) | truth).sum())
        assert np.allclose(footprint, stmap["A"], atol=1e-4)
        occluded = plate.occlusion_mask(frame) & truth
        if occluded.sum() >= 20:
            held = comp["holdout.Y"] > 0.5
            holdout_iou.append((held & occluded).sum() / (held | occluded).sum())
    print(f"chained-flow via CLI: footprint IoU min {min(footprint_iou):.3f}; holdout IoU per occluded frame {np.round(holdout_iou, 3).tolist()}")
    assert min(footprint_iou) > 0.93

    ref = _read(folder / "out" / f"comp.{REF:04d}.exr")
    ys, xs = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    clear = np.hypot(xs - plate.disk_centre[REF][0], ys - plate.disk_centre[REF][1]) > DISK_RADIUS + 4
    quad = (polygon_coverage(plate.plane_point(REF, CORNERS_UV), (SIZE, SIZE)) > 0.5).astype(np.uint8)
    inside = cv2.erode(quad, np.ones((3, 3), np.uint8)).astype(bool) & clear
    assert np.allclose(ref["pin.A"][inside], 1.0, atol=1e-3)
    assert np.allclose(ref["pin.G"][inside], srgb_decode(np.float32(90 / 255)), atol=2e-3)  # sRGB PNG -> linear


def test_read_rgba_decodes_srgb_and_premultiplies_straight_alpha(tmp_path: Path) -> None:
    pixels = np.zeros((4, 4, 4), np.uint8)
    pixels[...] = (200, 100, 50, 128)  # BGRA, half transparent
    cv2.imwrite(str(tmp_path / "half.png"), pixels)
    rgba = read_rgba(str(tmp_path / "half.png"))
    alpha = 128 / 255
    assert np.allclose(rgba[0, 0], [srgb_decode(np.float32(50 / 255)) * alpha, srgb_decode(np.float32(100 / 255)) * alpha, srgb_decode(np.float32(200 / 255)) * alpha, alpha], atol=1e-4)


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "--corners"),
        (["--corners", "10,10,100,10,10,100,100,100"], "convex"),
        (["--corners", "10,10,100,10,100,100,10,100", "--at", "999"], "--at 999"),
    ],
)
def test_pin_command_rejects_bad_input_with_exit_2(shot: tuple[Path, SyntheticPlate], extra: list[str], message: str) -> None:
    folder, _ = shot
    args = ["pin", str(folder / "plate.%04d.png"), "--graphic", str(folder / "logo.png"), "--out", str(folder / "bad.%04d.exr")]
    if "--at" not in extra:
        args += ["--at", str(REF)]
    run = subprocess.run(OMNIVFX + args + extra, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1


TINY_FIT = {"OMNIVFX_ENGINE_OVERRIDES": '{"trainer.steps": 8}'}
EXR_CORNERS = "20,15,70,15,70,50,20,50"  # on the 96x64 plate of the exr_plate_1001 fixture


def _progress(stdout: str) -> tuple[set[str], dict]:
    """--json-progress output: the stages that reported progress ("fit" when the engine trained) and the result."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return {line["stage"] for line in lines if "stage" in line}, next((line["result"] for line in lines if "result" in line), {})


def _checkpoint(results: Path) -> tuple[bytes, int]:
    path = results / "work" / "engine" / "checkpoint.pt"
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.fixture
def logo(tmp_path: Path) -> Path:
    graphic = np.zeros((20, 30, 4), np.uint8)
    graphic[..., 1], graphic[..., 3] = 200, 255
    cv2.imwrite(str(tmp_path / "logo.png"), graphic)
    return tmp_path / "logo.png"


def test_pin_and_export_reload_a_tracked_folder_without_refitting(run_omnivfx, exr_plate_1001, logo, tmp_path) -> None:
    results = tmp_path / "tracked"
    track = run_omnivfx("track", exr_plate_1001, "--tracker", "omnimotion", "--preset", "test", "--grid", "3",
                        "--device", "cpu", "--out", results, env=TINY_FIT, timeout=300)
    assert track.returncode == 0, track.stderr
    fitted = _checkpoint(results)
    # No overrides in the environment now: the test preset's own schedule would continue (refit) the 8-step fit.
    pin = run_omnivfx("pin", exr_plate_1001, "--graphic", logo, "--at", "1003", "--corners", EXR_CORNERS, "--results",
                      results, "--out", tmp_path / "pin" / "logo.%04d.exr", "--json-progress", timeout=300)
    assert pin.returncode == 0, pin.stderr
    stages, result = _progress(pin.stdout)
    assert result["reused_fit"] and result["results_dir"] == str(results) and len(result["written"]) == 10
    assert "fit" not in stages and "pin" in stages and _checkpoint(results) == fitted

    export = run_omnivfx("export", results, "--format", "motion", "--json-progress",
                         env={"OMNIVFX_ENGINE_OVERRIDES": '{"trainer.steps": 40}'}, timeout=300)
    assert export.returncode == 0, export.stderr
    assert "fit" not in _progress(export.stdout)[0]
    assert _checkpoint(results) == fitted and len(list((results / "export" / "motion").glob("*.exr"))) == 10

    conflict = run_omnivfx("pin", exr_plate_1001, "--graphic", logo, "--at", "1003", "--corners", EXR_CORNERS,
                           "--results", results, "--preset", "default", "--out", tmp_path / "other.%04d.exr")
    assert conflict.returncode == 2 and len(conflict.stderr.strip().splitlines()) == 1
    assert "was tracked with --preset test (not default)" in conflict.stderr and _checkpoint(results) == fitted


def test_pin_without_a_results_folder_writes_one_the_next_pin_reuses(run_omnivfx, exr_plate_1001, logo, tmp_path) -> None:
    results = tmp_path / "pin_results"
    args = ["pin", exr_plate_1001, "--graphic", logo, "--at", "1003", "--corners", EXR_CORNERS, "--results", results,
            "--out", tmp_path / "pin" / "logo.%04d.exr", "--json-progress"]
    first = run_omnivfx(*args, "--tracker", "omnimotion", "--preset", "test", "--device", "cpu", env=TINY_FIT, timeout=300)
    assert first.returncode == 0, first.stderr
    stages, result = _progress(first.stdout)
    assert not result["reused_fit"] and {"fit", "queries"} <= stages
    assert not (results / "work" / "flow").exists()  # the flow cache goes after the pin, as after a track
    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["cache_bytes"] == sum(p.stat().st_size for p in (results / "work").rglob("*") if p.is_file())
    assert manifest["preset"] == "test" and manifest["config"]["overrides"] == {"trainer.steps": 8}
    with np.load(results / "tracks.npz") as data:
        assert data["names"].tolist() == ["pin_tl", "pin_tr", "pin_br", "pin_bl"] and data["tracks"].shape == (4, 10, 2)
        assert np.allclose(data["tracks"][:, 2], [[20, 15], [70, 15], [70, 50], [20, 50]])  # the corners at --at
    fitted = _checkpoint(results)

    again = run_omnivfx(*args, timeout=300)
    assert again.returncode == 0, again.stderr
    stages, result = _progress(again.stdout)
    assert result["reused_fit"] and "fit" not in stages and _checkpoint(results) == fitted
    assert not (results / "work" / "flow").exists()  # the reload recomputed the flow and removed it again

    kept = run_omnivfx(*args, "--keep-cache", timeout=300)
    assert kept.returncode == 0, kept.stderr
    assert any((results / "work" / "flow").rglob("*.npz")) and _checkpoint(results) == fitted
