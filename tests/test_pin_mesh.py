"""Mesh pin on a bending surface with exact ground truth: the grid follows the bend where planar cannot."""

from __future__ import annotations

import numpy as np
import pytest
from test_pin_synthetic_plate import FRAMES, SIZE, GroundTruthTracker, SyntheticPlate, make_plate

from omnimotion_vfx.pin.motion import apply_homography
from omnimotion_vfx.pin.region import make_placement
from omnimotion_vfx.pin.render import PinRenderer
from omnimotion_vfx.pin.solve import solve_pin
from omnimotion_vfx.pin.warp import Box, mesh_inverse_map, planar_inverse_map

CORNERS_UV = np.array([[10.0, 10.0], [150.0, 10.0], [150.0, 110.0], [10.0, 110.0]])
REF = 1001


@pytest.fixture(scope="module")
def bent() -> SyntheticPlate:
    return make_plate(bend=8.0)


def test_mesh_vertices_follow_a_bending_surface(bent: SyntheticPlate) -> None:
    """Vertices where the surface can be seen are within 0.5 px of the truth; planar is off by pixels."""
    solve = solve_pin(GroundTruthTracker(bent, noise_px=0.3), FRAMES, make_placement(REF, (SIZE, SIZE), bent.plane_point(REF, CORNERS_UV)), (140, 100))
    renderer = PinRenderer(solve, "mesh")
    grid = renderer.grid_uv.reshape(-1, 2)
    texture_uv = apply_homography(np.linalg.inv(bent.plane_h[REF]), apply_homography(solve.graphic_to_ref, grid))
    mesh_err, planar_err, hidden_err = [], [], []
    for index, frame in enumerate(FRAMES):
        truth = bent.plane_point(frame, texture_uv)
        seen = ~bent.in_disk(frame, truth)
        mesh = renderer.follower.vertices(index, solve.fits[frame]).reshape(-1, 2)
        planar = apply_homography(solve.graphic_to_plate(frame), grid)
        mesh_err.append(np.linalg.norm(mesh - truth, axis=1)[seen].max())
        hidden_err.append(np.linalg.norm(mesh - truth, axis=1)[~seen].max(initial=0.0))
        planar_err.append(np.linalg.norm(planar - truth, axis=1).max())
    print(f"\nmesh vertex error on a bending plane (GT tracker + 0.3 px noise): visible max {max(mesh_err):.3f} px, "
          f"under the occluder max {max(hidden_err):.3f} px; planar max {max(planar_err):.3f} px")
    assert max(mesh_err) < 0.5
    assert max(planar_err) > 4.0
    assert max(hidden_err) < 4.0  # extrapolated under the occluder (held out there anyway), but not lost


def test_mesh_render_holds_out_the_occluder(bent: SyntheticPlate) -> None:
    solve = solve_pin(GroundTruthTracker(bent), FRAMES, make_placement(REF, (SIZE, SIZE), bent.plane_point(REF, CORNERS_UV)), (140, 100))
    renderer = PinRenderer(solve, "mesh")
    frame = 1007
    result = renderer.frame(frame, np.ones((100, 140, 4), np.float32), with_stmap=True)
    truth = bent.occlusion_mask(frame) & (result.coverage > 0.5)
    held = result.holdout > 0.5
    iou = (truth & held).sum() / (truth | held).sum()
    print(f"\nmesh holdout IoU at frame {frame}: {iou:.3f}")
    assert truth.sum() > 200 and iou > 0.9
    inside = result.coverage > 0.999
    assert np.all((result.stmap[..., 0][inside] >= 0) & (result.stmap[..., 0][inside] <= 1))


def test_mesh_inverse_map_matches_planar_for_an_affine_mesh() -> None:
    """A mesh whose vertices follow an affine map must give the same inverse map as the homography."""
    affine = np.array([[1.1, 0.2, 40.0], [-0.15, 0.9, 30.0], [0.0, 0.0, 1.0]])
    u, v = np.meshgrid(np.linspace(0, 100, 9), np.linspace(0, 60, 7))
    grid = np.stack([u, v], axis=-1)
    vertices = apply_homography(affine, grid.reshape(-1, 2)).reshape(grid.shape)
    box = Box(60, 40, 110, 70)  # inside the warped rectangle
    mesh = mesh_inverse_map(vertices, grid, box)
    planar = planar_inverse_map(affine, box)
    assert np.abs(mesh - planar).max() < 1e-3
