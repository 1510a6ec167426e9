"""A tiny plate with exact ground truth for the pin tests: a textured plane moving by known homographies over
a textured background, and a textured disk passing in front of the plane for a few frames.

`GroundTruthTracker` answers the tracker contract analytically (`tracker(queries)` and `map_points`), with
optional noise and outliers, so the pin's fitting can be measured apart from any real tracker's error.
(Kept here until omnimotion_vfx/evaluation/synthetic.py exists; the tests below check the plate itself.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SIZE = 256
FRAMES = list(range(1001, 1013))
TEXTURE_SIZE = (160, 120)  # plane texture (width, height) in its own pixels
DISK_RADIUS = 30.0


def _texture(width: int, height: int, seed: int, blur: float = 1.5) -> np.ndarray:
    """Smooth random colour texture in [0, 1], float32 [H, W, 3]: trackable at every scale we use."""
    rng = np.random.default_rng(seed)
    fine = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), blur)
    coarse = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 6.0)
    tex = 0.5 + 3.0 * (fine - 0.5) + 2.0 * (coarse - 0.5)
    return np.clip(tex, 0.0, 1.0).astype(np.float32)


def _to_index(matrix: np.ndarray) -> np.ndarray:
    """A map between internal coordinates (pixel centres at +0.5) as a map between OpenCV pixel indices."""
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    return np.linalg.inv(shift) @ matrix @ shift


@dataclass
class SyntheticPlate:
    """Frames (linear float32 [T, H, W, 3]) with the exact motion of every layer."""

    frames: list[int]
    images: np.ndarray
    plane_texture: np.ndarray
    plane_h: dict[int, np.ndarray]  # texture pixels -> plate pixels, per frame
    disk_centre: dict[int, np.ndarray]
    bend: dict[int, float]  # amplitude of the plane's bend (0: rigid)

    def plane_point(self, frame: int, uv: np.ndarray) -> np.ndarray:
        """Plate position of texture points uv [N, 2] at `frame` (homography, then the bend along y)."""
        xy = cv2.perspectiveTransform(np.asarray(uv, np.float64).reshape(-1, 1, 2), self.plane_h[frame]).reshape(-1, 2)
        amp = self.bend[frame]
        if amp:
            xy = xy + np.stack([np.zeros(len(uv)), amp * np.sin(np.pi * uv[:, 0] / TEXTURE_SIZE[0])], axis=1)
        return xy

    def in_disk(self, frame: int, xy: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.asarray(xy, np.float64) - self.disk_centre[frame], axis=1) < DISK_RADIUS

    def occlusion_mask(self, frame: int) -> np.ndarray:
        """bool [H, W]: pixels whose centre lies inside the disk."""
        ys, xs = np.mgrid[0:SIZE, 0:SIZE] + 0.5
        return np.hypot(xs - self.disk_centre[frame][0], ys - self.disk_centre[frame][1]) < DISK_RADIUS

    def uint8(self) -> np.ndarray:
        """The clip as a tracker sees it: sRGB-encoded uint8 [T, H, W, 3]."""
        from omnimotion_vfx.io.colour import srgb_encode

        return np.round(np.clip(srgb_encode(self.images), 0, 1) * 255).astype(np.uint8)


def make_plate(bend: float = 0.0, occluder: bool = True, seed: int = 7) -> SyntheticPlate:
    """12 frames at 256x256; the disk crosses the plane during frames ~1004-1009; `bend` > 0 bends the plane
    along y by up to `bend` px at the last frame (none at frame 1001, the reference)."""
    background = _texture(SIZE, SIZE, seed)
    plane_tex = _texture(*TEXTURE_SIZE, seed + 1)
    disk_tex = _texture(2 * int(DISK_RADIUS) + 4, 2 * int(DISK_RADIUS) + 4, seed + 2)
    tw, th = TEXTURE_SIZE
    images, plane_h, disk_centre, bends = [], {}, {}, {}
    for i, frame in enumerate(FRAMES):
        angle = np.deg2rad(1.5 * i)
        scale = 1.0 + 0.012 * i
        centre = np.array([110.0 + 3.2 * i, 120.0 + 1.7 * i])
        to_centre = np.array([[1, 0, -tw / 2], [0, 1, -th / 2], [0, 0, 1]])
        rot = np.array([[scale * np.cos(angle), -scale * np.sin(angle), 0], [scale * np.sin(angle), scale * np.cos(angle), 0], [0, 0, 1]])
        persp = np.array([[1, 0, 0], [0, 1, 0], [0.0002 * i, -0.00015 * i, 1]])
        place = np.array([[1, 0, centre[0]], [0, 1, centre[1]], [0, 0, 1]])
        h = place @ persp @ rot @ to_centre
        plane_h[frame] = h / h[2, 2]
        disk_centre[frame] = np.array([10.0 + 22.0 * i, 110.0 + 2.0 * i]) if occluder else np.array([-500.0, -500.0])
        bends[frame] = bend * i / (len(FRAMES) - 1)
        plate = SyntheticPlate(FRAMES, np.zeros(0), plane_tex, plane_h, disk_centre, bends)
        image = background.copy()
        if bend:
            ys, xs = np.mgrid[0:SIZE, 0:SIZE] + 0.5
            uv = _invert_bent_plane(plate, frame, np.stack([xs.ravel(), ys.ravel()], axis=1))
            rgb = cv2.remap(plane_tex, (uv[:, 0] - 0.5).reshape(SIZE, SIZE).astype(np.float32), (uv[:, 1] - 0.5).reshape(SIZE, SIZE).astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(-1, -1, -1))
            inside = ((uv[:, 0] >= 0) & (uv[:, 0] <= tw) & (uv[:, 1] >= 0) & (uv[:, 1] <= th)).reshape(SIZE, SIZE)
            alpha = inside.astype(np.float32)[..., None]
            rgb = rgb * alpha
        else:
            m = _to_index(plane_h[frame])
            rgb = cv2.warpPerspective(plane_tex, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            alpha = cv2.warpPerspective(np.ones((th, tw), np.float32), m, (SIZE, SIZE), flags=cv2.INTER_LINEAR)[..., None]
        image = rgb + image * (1 - alpha)  # the warped texture is premultiplied by its warped alpha
        d = disk_centre[frame]
        shift = np.array([[1, 0, d[0] - disk_tex.shape[1] / 2], [0, 1, d[1] - disk_tex.shape[0] / 2], [0, 0, 1.0]])
        disk_rgb = cv2.warpPerspective(disk_tex, _to_index(shift), (SIZE, SIZE), flags=cv2.INTER_LINEAR)
        ys, xs = np.mgrid[0:SIZE, 0:SIZE] + 0.5
        disk_alpha = np.clip(DISK_RADIUS - np.hypot(xs - d[0], ys - d[1]) + 0.5, 0, 1).astype(np.float32)[..., None]
        images.append(disk_rgb * disk_alpha + image * (1 - disk_alpha))
    return SyntheticPlate(FRAMES, np.stack(images).astype(np.float32), plane_tex, plane_h, disk_centre, bends)


def _invert_bent_plane(plate: SyntheticPlate, frame: int, xy: np.ndarray) -> np.ndarray:
    """Texture positions of plate points on the bent plane (fixed-point iteration; the bend is smooth)."""
    inverse = np.linalg.inv(plate.plane_h[frame])
    uv = cv2.perspectiveTransform(xy.reshape(-1, 1, 2), inverse).reshape(-1, 2)
    for _ in range(6):
        bent = plate.plane_point(frame, uv)
        uv = cv2.perspectiveTransform((xy - (bent - cv2.perspectiveTransform(uv.reshape(-1, 1, 2), plate.plane_h[frame]).reshape(-1, 2))).reshape(-1, 1, 2), inverse).reshape(-1, 2)
    return uv


class GroundTruthTracker:
    """The tracker contract answered from the plate's exact motion (layers: disk over plane over background).

    noise_px / outlier_fraction perturb the answers (seeded) to exercise the pin's robust fitting."""

    def __init__(self, plate: SyntheticPlate, noise_px: float = 0.0, outlier_fraction: float = 0.0, seed: int = 3) -> None:
        self.plate = plate
        self.noise_px = noise_px
        self.outlier_fraction = outlier_fraction
        self.rng = np.random.default_rng(seed)

    def map_points(self, src_frame: int, xy: np.ndarray, dst_frame: int) -> tuple[np.ndarray, np.ndarray]:
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        p = self.plate
        on_disk = p.in_disk(src_frame, xy)
        uv = _invert_bent_plane(p, src_frame, xy)
        tw, th = TEXTURE_SIZE
        on_plane = ~on_disk & (uv[:, 0] >= 0) & (uv[:, 0] <= tw) & (uv[:, 1] >= 0) & (uv[:, 1] <= th)
        out = xy.copy()
        out[on_disk] = xy[on_disk] + p.disk_centre[dst_frame] - p.disk_centre[src_frame]
        out[on_plane] = p.plane_point(dst_frame, uv[on_plane])
        dst_uv = _invert_bent_plane(p, dst_frame, out)
        dst_on_plane = (dst_uv[:, 0] >= 0) & (dst_uv[:, 0] <= tw) & (dst_uv[:, 1] >= 0) & (dst_uv[:, 1] <= th)
        covered = p.in_disk(dst_frame, out)
        inside = (out[:, 0] >= 0) & (out[:, 0] <= SIZE) & (out[:, 1] >= 0) & (out[:, 1] <= SIZE)
        visible = inside & np.where(on_disk, True, ~covered & np.where(on_plane, True, ~dst_on_plane))
        return self._perturb(out, src_frame == dst_frame), visible

    def track(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The motion-field contract the pin reads (motion/plate_motion.py), answered exactly."""
        return self(queries)

    def __call__(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, np.float64)
        tracks = np.zeros((len(queries), len(self.plate.frames), 2), np.float32)
        visible = np.zeros((len(queries), len(self.plate.frames)), bool)
        for src in np.unique(queries[:, 0]).astype(int):
            rows = np.nonzero(queries[:, 0].astype(int) == src)[0]
            for j, dst in enumerate(self.plate.frames):
                tracks[rows, j], visible[rows, j] = self.map_points(src, queries[rows, 1:3], dst)
        return tracks, visible

    def _perturb(self, xy: np.ndarray, same_frame: bool) -> np.ndarray:
        if same_frame or (self.noise_px == 0 and self.outlier_fraction == 0):
            return xy
        xy = xy + self.rng.normal(0.0, self.noise_px, xy.shape)
        wild = self.rng.random(len(xy)) < self.outlier_fraction
        xy[wild] += self.rng.uniform(-25, 25, (int(wild.sum()), 2))
        return xy


def test_rendered_plane_matches_the_ground_truth_motion() -> None:
    """Texture colour at a texture point equals the plate colour where the GT motion puts it (away from the disk)."""
    plate = make_plate()
    rng = np.random.default_rng(0)
    uv = rng.uniform([10, 10], [TEXTURE_SIZE[0] - 10, TEXTURE_SIZE[1] - 10], (300, 2))
    expected = cv2.remap(plate.plane_texture, (uv[:, 0] - 0.5).astype(np.float32)[None], (uv[:, 1] - 0.5).astype(np.float32)[None], cv2.INTER_LINEAR)[0]
    for index in (0, 5, 11):
        frame = FRAMES[index]
        xy = plate.plane_point(frame, uv)
        keep = ~plate.in_disk(frame, xy) & (np.linalg.norm(xy - plate.disk_centre[frame], axis=1) > DISK_RADIUS + 2)
        got = cv2.remap(plate.images[index], (xy[:, 0] - 0.5).astype(np.float32)[None], (xy[:, 1] - 0.5).astype(np.float32)[None], cv2.INTER_LINEAR)[0]
        assert np.abs(got[keep] - expected[keep]).mean() < 0.01


def test_ground_truth_tracker_is_consistent_and_sees_the_occluder() -> None:
    plate = make_plate()
    tracker = GroundTruthTracker(plate)
    uv = np.array([[80.0, 60.0], [20.0, 20.0], [140.0, 100.0]])
    xy = plate.plane_point(1001, uv)
    there, _ = tracker.map_points(1001, xy, 1008)
    back, _ = tracker.map_points(1008, there, 1001)
    assert np.allclose(back, xy, atol=1e-6)
    hidden = [bool((~tracker.map_points(1001, xy, f)[1]).any()) for f in FRAMES]
    assert any(hidden) and not hidden[0]
