"""A tiny plate with exact motion for the exporter tests: a textured background that translates and rotates,
and a textured square that slides across it (occluding it). `GroundTruthTracker` answers `map_points` and
`tracker(queries)` analytically, so any error in a written STMap, motion vector or matte is the exporter's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from omnimotion_vfx.results.folder import TrackResults, build_manifest, write_results

SIDE = 20.0


class GroundTruthTracker:
    def __init__(self, width: int = 96, height: int = 64, frames: range = range(1001, 1007), angle: float = 0.03,
                 velocity: tuple[float, float] = (1.5, 0.8), square_velocity: tuple[float, float] = (8.0, 1.0)) -> None:
        self.size = (width, height)
        self.frames = list(frames)
        k = np.arange(len(self.frames), dtype=np.float64)
        self.angles = angle * k
        self.shifts = np.stack([velocity[0] * k, velocity[1] * k], 1)
        self.square = np.stack([8.0 + square_velocity[0] * k, 18.0 + square_velocity[1] * k], 1)
        self.centre = np.array([width / 2.0, height / 2.0])
        rng = np.random.default_rng(7)
        noise = rng.random((256, 256, 3)).astype(np.float32)
        self.background = cv2.GaussianBlur(noise, (0, 0), 2.5)
        self.background = (self.background - self.background.min()) / np.ptp(self.background)
        stripes = (np.indices((int(SIDE), int(SIDE))).sum(0) % 6 < 3).astype(np.float32)
        self.foreground = np.dstack([stripes, 1 - stripes, np.full_like(stripes, 0.5)])
        self.tex_centre = np.array([128.0, 128.0])

    def _index(self, frame: int) -> int:
        return self.frames.index(int(frame))

    def _to_canonical(self, k: int, xy: np.ndarray) -> np.ndarray:
        c, s = np.cos(-self.angles[k]), np.sin(-self.angles[k])
        d = xy - self.centre - self.shifts[k]
        return np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], 1) + self.tex_centre

    def _from_canonical(self, k: int, q: np.ndarray) -> np.ndarray:
        c, s = np.cos(self.angles[k]), np.sin(self.angles[k])
        d = q - self.tex_centre
        return np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], 1) + self.centre + self.shifts[k]

    def in_square(self, k: int, xy: np.ndarray) -> np.ndarray:
        rel = xy - self.square[k]
        return (rel[:, 0] >= 0) & (rel[:, 0] < SIDE) & (rel[:, 1] >= 0) & (rel[:, 1] < SIDE)

    def map_points(self, src_frame: int, xy: np.ndarray, dst_frame: int) -> tuple[np.ndarray, np.ndarray]:
        ks, kd = self._index(src_frame), self._index(dst_frame)
        xy = np.asarray(xy, np.float64)
        fg = self.in_square(ks, xy)
        out = np.where(fg[:, None], xy - self.square[ks] + self.square[kd], self._from_canonical(kd, self._to_canonical(ks, xy)))
        w, h = self.size
        inside = (out[:, 0] >= 0) & (out[:, 0] <= w) & (out[:, 1] >= 0) & (out[:, 1] <= h)
        return out.astype(np.float32), inside & (fg | ~self.in_square(kd, out))

    def __call__(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, np.float64)
        tracks = np.zeros((len(queries), len(self.frames), 2), np.float32)
        visible = np.zeros((len(queries), len(self.frames)), bool)
        for t, frame in enumerate(self.frames):
            for n, (f, x, y) in enumerate(queries):
                xy, vis = self.map_points(int(f), np.array([[x, y]]), frame)
                tracks[n, t], visible[n, t] = xy[0], vis[0]
        return tracks, visible

    def render(self, frame: int) -> np.ndarray:
        """Frame as float32 RGB [H, W, 3]: each pixel samples its layer's texture at its canonical position."""
        k = self._index(frame)
        w, h = self.size
        grid = np.stack(np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5), -1).reshape(-1, 2)
        q = self._to_canonical(k, grid).reshape(h, w, 2).astype(np.float32) - 0.5
        image = cv2.remap(self.background, q[..., 0], q[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        fg = self.in_square(k, grid).reshape(h, w)
        rel = (grid - self.square[k]).reshape(h, w, 2).astype(np.float32) - 0.5
        square = cv2.remap(self.foreground, rel[..., 0], rel[..., 1], cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        image[fg] = square[fg]
        return image

    def write_plate(self, folder: Path) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        for frame in self.frames:
            rgb = np.round(self.render(frame) * 255).astype(np.uint8)
            cv2.imwrite(str(folder / f"plate.{frame:04d}.png"), rgb[..., ::-1])
        return str(folder / "plate.%04d.png")


def results_for(tracker: GroundTruthTracker, queries: np.ndarray, names: list[str] | None = None,
                plate: str = "") -> TrackResults:
    tracks, visible = tracker(queries)
    manifest = build_manifest(
        plate=plate, frames=np.asarray(tracker.frames), resolution=tracker.size, tracker="ground-truth",
        preset="test", config={"job": {"plate": plate}}, timings={},
    )
    return TrackResults(np.asarray(tracker.frames), queries, tracks, visible, names or [], manifest)


def write_results_folder(folder: Path, results: TrackResults) -> Path:
    return write_results(folder, results)
