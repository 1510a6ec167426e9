"""The chained optical-flow tracker: follow each query through adjacent-frame DIS flow, forward and backward.

Occlusion: a point is marked occluded where the forward-backward cycle error of the adjacent flow at its
position exceeds a threshold, or where it leaves the image. This is the classic "chained flow" baseline of the
OmniMotion paper and the product's fallback tracker (`--tracker chained-flow`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..clip_geometry import ClipGeometry
from ..progress import NullProgress, ProgressReporter


@dataclass
class ChainedFlowConfig:
    dis_preset: str = "medium"  # ultrafast | fast | medium
    occlusion_cycle_px: float = 3.0  # at 480 lines; scaled with resolution


_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def dis_flow(a: np.ndarray, b: np.ndarray, preset: str = "medium") -> np.ndarray:
    """Flow from RGB uint8 frame a to b: float32 [H, W, 2] pixel offsets (x, y)."""
    dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    return dis.calc(ga, gb, None)


def sample_bilinear(field: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Sample field [H, W, C] at continuous pixel positions xy [N, 2] (pixel centres at +0.5), border clamped."""
    h, w = field.shape[:2]
    x = np.clip(xy[:, 0] - 0.5, 0, w - 1)
    y = np.clip(xy[:, 1] - 0.5, 0, h - 1)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0)[:, None]
    fy = (y - y0)[:, None]
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


class ChainedFlowTracker:
    """`tracks, visible = tracker(queries)` with queries (frame, x, y) in plate frames and pixels."""

    def __init__(
        self,
        video: np.ndarray,
        geometry: ClipGeometry,
        config: ChainedFlowConfig | None = None,
        progress: ProgressReporter | None = None,
    ) -> None:
        self.config = config or ChainedFlowConfig()
        self.geometry = geometry
        progress = progress or NullProgress()
        t = len(video)
        self.size = (video.shape[2], video.shape[1])
        progress.begin("flow", 2 * (t - 1))
        self.forward = []
        self.backward = []
        for i in range(t - 1):
            self.forward.append(dis_flow(video[i], video[i + 1], self.config.dis_preset))
            progress.advance()
            self.backward.append(dis_flow(video[i + 1], video[i], self.config.dis_preset))
            progress.advance()
        progress.end()
        self.cycle_threshold = self.config.occlusion_cycle_px * video.shape[1] / 480.0

    def __call__(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index, xy = self.geometry.to_internal(queries)
        n, t = len(index), len(self.forward) + 1
        tracks = np.zeros((n, t, 2), np.float32)
        visible = np.zeros((n, t), bool)
        for start in np.unique(index):
            rows = np.nonzero(index == start)[0]
            pts, vis = self._follow(xy[rows].astype(np.float64), int(start))
            tracks[rows] = pts
            visible[rows] = vis
        return self.geometry.to_plate(tracks), visible

    def _follow(self, xy: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        t = len(self.forward) + 1
        w, h = self.size
        out = np.zeros((len(xy), t, 2))
        vis = np.zeros((len(xy), t), bool)
        out[:, start] = xy
        vis[:, start] = True
        for direction, there, back in ((1, self.forward, self.backward), (-1, self.backward, self.forward)):
            pos = xy.copy()
            alive = np.ones(len(xy), bool)
            frame = start
            while 0 <= frame + direction < t:
                pair = frame if direction == 1 else frame - 1
                step = sample_bilinear(there[pair], pos)
                nxt = pos + step
                back_step = sample_bilinear(back[pair], nxt)
                cycle = np.linalg.norm(step + back_step, axis=1)
                inside = (nxt[:, 0] >= 0) & (nxt[:, 0] <= w) & (nxt[:, 1] >= 0) & (nxt[:, 1] <= h)
                frame += direction
                out[:, frame] = nxt
                vis[:, frame] = inside & (cycle <= self.cycle_threshold) & alive
                pos = nxt
        return out, vis


def _map_points(self: ChainedFlowTracker, src_frame: int, xy: np.ndarray, dst_frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions at plate frame `src_frame` carried to `dst_frame` along the chain (see PointTracker.map_points)."""
    frames = list(self.geometry.frame_numbers)
    src, dst = frames.index(int(src_frame)), frames.index(int(dst_frame))
    sx, sy = self.geometry.scale_xy
    pts = np.asarray(xy, np.float64) * (sx, sy)
    out, vis = self._follow(pts, src)
    return (out[:, dst] / (sx, sy)).astype(np.float32), vis[:, dst]


ChainedFlowTracker.map_points = _map_points
