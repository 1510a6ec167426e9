"""`omnivfx pin` end to end: a generated PNG plate in, real EXRs out, read back with OpenImageIO."""

from __future__ import annotations

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
