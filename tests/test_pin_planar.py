"""Planar pin on a generated plate with exact ground truth: corner accuracy, holdout matte, warp, STMap."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from test_pin_synthetic_plate import DISK_RADIUS, FRAMES, SIZE, GroundTruthTracker, SyntheticPlate, make_plate

from omnimotion_vfx.clip_geometry import ClipGeometry
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.motion.build import clip_motion
from omnimotion_vfx.pin.corners import pin_corners_per_frame, to_nuke_cornerpin
from omnimotion_vfx.pin.region import make_placement, parse_corners
from omnimotion_vfx.pin.render import PinRenderer
from omnimotion_vfx.pin.solve import solve_pin
from omnimotion_vfx.progress import NullProgress, StopToken
from omnimotion_vfx.tracking.registry import TrackerContext, build_tracker

CORNERS_UV = np.array([[30.0, 20.0], [130.0, 20.0], [130.0, 100.0], [30.0, 100.0]])  # on the plane's texture
REF = 1001


@pytest.fixture(scope="module")
def plate() -> SyntheticPlate:
    return make_plate()


def _corner_errors(plate: SyntheticPlate, keys: dict) -> np.ndarray:
    return np.array([np.linalg.norm(keys[f].corners - plate.plane_point(f, CORNERS_UV), axis=1).max() for f in FRAMES])


def test_corners_stay_within_a_pixel_through_noise_outliers_and_occlusion(plate: SyntheticPlate) -> None:
    tracker = GroundTruthTracker(plate, noise_px=0.5, outlier_fraction=0.1)
    keys = pin_corners_per_frame(tracker, FRAMES, REF, plate.plane_point(REF, CORNERS_UV), (SIZE, SIZE))
    errors = _corner_errors(plate, keys)
    print(f"\nplanar corner error, GT tracker + 0.5 px noise + 10% outliers: max {errors.max():.3f} px, mean {errors.mean():.3f} px")
    assert errors.max() < 1.0
    assert errors[0] == 0.0
    visible = [keys[f].visible_fraction for f in FRAMES]
    assert min(visible) < 0.8 and not any(keys[f].held for f in FRAMES)  # a real occluded stretch, solved


def test_corners_with_the_chained_flow_tracker(plate: SyntheticPlate) -> None:
    """The product tracker on the rendered pixels: reported, and guarded against regressions."""
    context = TrackerContext(Path(tempfile.mkdtemp()), "default", "cpu", NullProgress(), StopToken())
    tracker, _ = build_tracker("chained-flow", plate.uint8(), ClipGeometry(tuple(FRAMES)), context)
    keys = pin_corners_per_frame(clip_motion(tracker, tracker.geometry), FRAMES, REF, plate.plane_point(REF, CORNERS_UV), (SIZE, SIZE))
    errors = _corner_errors(plate, keys)
    print(f"\nplanar corner error, chained-flow: max {errors.max():.3f} px, mean {errors.mean():.3f} px, last frame {errors[-1]:.3f} px")
    assert errors.max() < 4.0


def test_holdout_matte_covers_the_occluder(plate: SyntheticPlate) -> None:
    solve = solve_pin(GroundTruthTracker(plate), FRAMES, make_placement(REF, (SIZE, SIZE), plate.plane_point(REF, CORNERS_UV)), (100, 80))
    renderer = PinRenderer(solve, "planar")
    graphic = np.ones((80, 100, 4), np.float32)
    ious = []
    for frame in FRAMES:
        result = renderer.frame(frame, graphic)
        truth = plate.occlusion_mask(frame) & (result.coverage > 0.5)
        held_out = result.holdout > 0.5
        if truth.sum() >= 20:
            ious.append((truth & held_out).sum() / (truth | held_out).sum())
            assert result.rgba[..., 3][truth].mean() < 0.1  # the graphic is hidden behind the occluder
        ys, xs = np.mgrid[0:SIZE, 0:SIZE] + 0.5
        far = np.hypot(xs - plate.disk_centre[frame][0], ys - plate.disk_centre[frame][1]) > DISK_RADIUS + 4
        assert result.holdout[far].max() < 0.05  # nothing held out away from the occluder
    print(f"\nholdout matte IoU vs GT occlusion (GT tracker), {len(ious)} occluded frames: min {min(ious):.3f}, mean {np.mean(ious):.3f}")
    assert len(ious) >= 4 and min(ious) > 0.9


def test_pinned_graphic_reproduces_the_plane_with_filtered_edges(plate: SyntheticPlate) -> None:
    """Pin the plane's own texture: the pinned pixels must match the plate (half-pixel conventions, warp)."""
    x0, y0, x1, y1 = 30, 20, 130, 100
    graphic = np.concatenate([plate.plane_texture[y0:y1, x0:x1], np.ones((y1 - y0, x1 - x0, 1), np.float32)], axis=-1)
    solve = solve_pin(GroundTruthTracker(plate), FRAMES, make_placement(REF, (SIZE, SIZE), plate.plane_point(REF, CORNERS_UV)), (x1 - x0, y1 - y0))
    renderer = PinRenderer(solve, "planar")
    frame = FRAMES[-1]
    result = renderer.frame(frame, graphic)
    inner = (result.coverage > 0.999) & ~plate.occlusion_mask(frame)
    diff = np.abs(result.rgba[..., :3] - plate.images[-1])[inner]
    assert inner.sum() > 3000 and diff.mean() < 0.02
    edge = (result.coverage > 0.02) & (result.coverage < 0.98)
    perimeter = sum(np.linalg.norm(np.roll(solve.corners(frame), -1, 0) - solve.corners(frame), axis=1))
    assert 0.7 * perimeter < edge.sum() < 2.5 * perimeter  # a one-pixel anti-aliased rim, not a jagged cut
    assert np.allclose(result.rgba[..., 3], result.coverage, atol=1e-4)  # opaque graphic: alpha is the footprint


def test_stmap_of_a_full_frame_graphic_is_the_identity_at_the_reference(plate: SyntheticPlate) -> None:
    corners = np.array([[0.0, 0.0], [SIZE, 0.0], [SIZE, SIZE], [0.0, SIZE]])
    solve = solve_pin(GroundTruthTracker(plate), FRAMES, make_placement(REF, (SIZE, SIZE), corners), (SIZE, SIZE))
    stmap = PinRenderer(solve, "planar").frame(REF, np.ones((SIZE, SIZE, 4), np.float32), with_stmap=True).stmap
    cols, rows = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    assert np.abs(stmap[..., 0] - (cols + 0.5) / SIZE).max() < 1e-5
    assert np.abs(stmap[..., 1] - (1.0 - (rows + 0.5) / SIZE)).max() < 1e-5


def test_placement_by_mask_and_bad_corners() -> None:
    mask = np.zeros((SIZE, SIZE), np.float32)
    mask[40:90, 60:140] = 1.0
    placement = make_placement(REF, (SIZE, SIZE), mask=mask)
    assert np.allclose(placement.corners, [[60, 40], [140, 40], [140, 90], [60, 90]])
    assert placement.region.sum() == 50 * 80
    with pytest.raises(InputError, match="convex"):
        make_placement(REF, (SIZE, SIZE), parse_corners("10,10,100,10,10,100,100,100"))
    with pytest.raises(InputError, match="8 numbers"):
        parse_corners("1,2,3")
    nuke = to_nuke_cornerpin(np.array([[10, 20], [110, 20], [110, 70], [10, 70]], float), SIZE)
    assert np.allclose(nuke, [[10, SIZE - 70], [110, SIZE - 70], [110, SIZE - 20], [10, SIZE - 20]])
