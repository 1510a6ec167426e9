"""The clip's one motion representation: "where is pixel (x, y) of frame s in frame t, and is it visible
there", for a few points or every pixel of a frame, from one set of full-length trajectories.

The trajectories (trajectories.py) are the fused tracks of a seeded grid plus the user's query tracks. A point
takes the motion of the trajectories around it by moving least squares: a local affine map fitted to the
trajectories in the 3 x 3 cells around it, weighted by 1 / distance^2 and by how well each trajectory's step to
the neighbouring frames agrees with the point's own adjacent flow (so motion does not bleed across an edge).
The weights are singular at a trajectory, and query tracks are trusted over seeded ones within a pixel or two
(and taken as they are, without the local affine tilt), so at a query point the field returns that query's
track: tracks, motion vectors, STMaps, mattes and pins agree by construction. Visibility is the weighted vote
of the same trajectories. A lookup is a fixed-size gather and a
3 x 3 solve per point, the same torch code on CPU and GPU; exporting a clip costs O(T) lookups.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch

from .adjacent_flow import AdjacentFlow
from .cell_index import CellIndex
from .config import MotionConfig
from .trajectories import Trajectories

SINGULAR_PX = 0.05  # the weight 1 / (d^2 + this^2) is finite at a trajectory, and dominates within a pixel
SNAP_PX = 1e-3  # a point this close to a trajectory takes exactly its motion
MAX_CANDIDATES = 12  # seeded trajectories a point reads at most (the nearest); 8 is typical
COARSE_CELLS = 4  # a hole's points read the trajectories of cells this many spacings wide around them
QUERY_CELL_PX = 1.0  # query tracks are looked up within one to two pixels of a point
QUERY_CAPACITY = 8  # per query cell; crowds beyond it are near-duplicates of the ones kept
OWN_PX = 0.5  # a trajectory this close is the point's own motion, whatever its step says
QUERY_TRUST = 100.0  # a query track outweighs seeded ones within a pixel or two of it (it was tracked on its own)
WEIGHT_SETS_KEPT = 4  # chunks of a frame's pixels whose lookup weights are kept
GATHER_BUDGET = 1 << 23  # elements of [points, candidates, frames, 2] gathered at once by `track`
TRACK_CANDIDATES = MAX_CANDIDATES + 9 * QUERY_CAPACITY  # the most candidates a point can have (bounds `track`'s chunks)


class MotionField:
    """Lookups in processing pixels and 0-based frames; `PlateMotion` (plate_motion.py) wraps plate units."""

    def __init__(self, nodes: Trajectories, size: tuple[int, int], adjacent: AdjacentFlow | None,
                 config: MotionConfig | None = None, device: str | torch.device = "cpu") -> None:
        self.config = config or MotionConfig()
        self.size = (int(size[0]), int(size[1]))
        self.device = torch.device(device)
        self.adjacent = adjacent
        self.spacing = self.config.node_spacing_px * max(self.size) / 256.0
        self.sigma = self.config.motion_sigma_px * max(self.size) / 256.0
        self._indices: OrderedDict[tuple[int, bool, bool], CellIndex] = OrderedDict()
        self._flows: OrderedDict[tuple[int, int], torch.Tensor | None] = OrderedDict()
        self._weights: OrderedDict[tuple, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = OrderedDict()
        self.nodes = Trajectories.empty(0)
        self.set_nodes(nodes)

    @property
    def frames(self) -> int:
        return self.nodes.frames

    def set_nodes(self, nodes: Trajectories) -> None:
        self.nodes = nodes
        self.positions = torch.from_numpy(np.ascontiguousarray(nodes.positions, np.float32)).to(self.device)
        self.visible = torch.from_numpy(np.ascontiguousarray(nodes.visible, bool)).to(self.device)
        self.is_query = torch.from_numpy(np.ascontiguousarray(nodes.is_query, bool)).to(self.device)
        # frame-major copies: a lookup gathers one frame's positions, a plain index into contiguous rows
        self.at_frame = self.positions.transpose(0, 1).contiguous()  # [T, N, 2]
        self.seen_at_frame = self.visible.transpose(0, 1).contiguous()  # [T, N]
        self._indices.clear()
        self._weights.clear()

    def add(self, nodes: Trajectories) -> None:
        """Query tracks join the field: from now on every product reads them where they are."""
        self.set_nodes(self.nodes.concat(nodes))

    def index(self, frame: int, queries: bool = False, coarse: bool = False) -> CellIndex:
        """The spatial hash of the seeded trajectories visible in `frame` (`coarse`: cells COARSE_CELLS
        spacings wide, for holes) or, with `queries`, of the query tracks, in cells of QUERY_CELL_PX: every
        query within reach of a point is found however many crowd one place. A few frames kept."""
        key = (frame, queries, coarse)
        if key not in self._indices:
            ids = torch.nonzero(self.visible[:, frame] & (self.is_query == queries)).flatten()
            cell = QUERY_CELL_PX if queries else self.spacing * (COARSE_CELLS if coarse else 1)
            capacity = QUERY_CAPACITY if queries else self.config.cell_capacity
            self._indices[key] = CellIndex(self.positions[ids, frame], ids, self.is_query[ids], cell, self.size, capacity)
            while len(self._indices) > 12:
                self._indices.popitem(last=False)
        self._indices.move_to_end(key)
        return self._indices[key]

    def candidates(self, frame: int, xy: torch.Tensor) -> torch.Tensor:
        """long [P, K]: the seeded trajectories a point of `frame` reads (-1: none), those in the 3 x 3 cells
        around it (the nearest anywhere if those are empty), valid ones first and the columns trimmed."""
        cand = self.index(frame).candidates(xy)
        empty = torch.nonzero((cand < 0).all(dim=1)).flatten()
        if len(empty):  # a hole (an occluder, a new surface): the trajectories of the coarse cells around it
            coarse = self.index(frame, coarse=True)
            found = coarse.candidates(xy[empty])
            still = (found < 0).all(dim=1)
            if still.any():
                found[still] = coarse.nearest(xy[empty][still], found.shape[1])
            cand = _pad(cand, found.shape[1], -1)
            cand[empty] = _pad(found, cand.shape[1], -1)
        cand = _valid_first(cand)
        if cand.shape[1] > MAX_CANDIDATES:  # crowded cells (a surface shrinking): the nearest ones suffice
            d2 = ((self.at_frame[frame][cand.clamp(min=0)] - xy[:, None]) ** 2).sum(-1)
            d2 = torch.where(cand >= 0, d2, torch.full_like(d2, float("inf")))
            cand = torch.gather(cand, 1, d2.topk(MAX_CANDIDATES, dim=1, largest=False).indices)
        return cand

    def weights(self, src: int, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For points xy [P, 2] of frame `src`: candidate node ids [P, K] (-1: none), moving-least-squares
        coefficients [P, K] (a point's displacement is their sum over the nodes' displacements) and
        non-negative vote weights [P, K] summing to 1 (for visibility). Query tracks within a pixel or two
        join the candidates of the few points near them (computed apart: most points have none)."""
        cand = self.candidates(src, xy)
        out = list(self._weights_of(src, xy, cand))
        if bool(self.is_query.any()):
            near = self.index(src, queries=True).candidates(xy)
            rows = torch.nonzero((near >= 0).any(1)).flatten()
            if len(rows):
                both = _valid_first(torch.cat([cand[rows], near[rows]], 1))
                sub = self._weights_of(src, xy[rows], both)
                width = max(cand.shape[1], both.shape[1])
                out = [_pad(t, width, fill) for t, fill in zip(out, (-1, 0.0, 0.0))]
                for whole, part, fill in zip(out, sub, (-1, 0.0, 0.0)):
                    whole[rows] = _pad(part, width, fill)
        return out[0], out[1], out[2]

    def _weights_of(self, src: int, xy: torch.Tensor, cand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`weights` for given candidates [P, K]."""
        valid = cand >= 0
        safe = cand.clamp(min=0)
        here = self.at_frame[src][safe]  # [P, K, 2]
        rel = here - xy[:, None]
        d2 = (rel**2).sum(-1)
        agree = torch.maximum(self._agreement(src, xy, safe, here), torch.exp(-0.5 * d2 / OWN_PX**2))
        trust = torch.where(self.is_query[safe], QUERY_TRUST, 1.0)
        w = torch.where(valid, trust * (agree + 1e-4) / (d2 + SINGULAR_PX**2), torch.zeros_like(d2))
        total = w.sum(1, keepdim=True).clamp(min=1e-30)
        vote = w / total
        design = torch.cat([rel, torch.ones_like(rel[..., :1])], -1)  # [P, K, 3]
        moments = (vote[..., None] * design).transpose(1, 2) @ design  # [P, 3, 3]
        # near a query track the point takes that track's motion as it is (no local affine tilt from the seeded
        # trajectories around it), so STMaps and vectors sampled beside a track reproduce it
        near_query = (vote * self.is_query[safe]).sum(1)
        prior = (self.config.affine_prior + QUERY_TRUST * near_query) * self.spacing**2
        moments[:, 0, 0] += prior
        moments[:, 1, 1] += prior
        unit = torch.zeros(len(xy), 3, 1, device=xy.device, dtype=xy.dtype)
        unit[:, 2] = 1.0
        z = torch.linalg.solve(moments, unit)[..., 0]  # [P, 3]
        coeff = vote * (design @ z[..., None])[..., 0]
        nearest = torch.where(valid, d2, torch.full_like(d2, float("inf"))).min(1)
        on = nearest.values < SNAP_PX**2  # a point on a trajectory takes exactly that trajectory's motion
        if on.any():
            own = torch.zeros_like(vote[on]).scatter_(1, nearest.indices[on, None], 1.0)
            coeff[on], vote[on] = own, own
        return cand, coeff, vote

    def _agreement(self, src: int, xy: torch.Tensor, cand: torch.Tensor, here: torch.Tensor) -> torch.Tensor:
        """[P, K] in (0, 1]: how well each candidate's step to the neighbouring frames matches the point's own
        adjacent flow there (the product over the directions the clip has)."""
        agree = torch.ones(cand.shape, device=xy.device, dtype=xy.dtype)
        if self.adjacent is None:
            return agree
        for direction in (1, -1):
            other = src + direction
            if not 0 <= other < self.frames:
                continue
            flow = self._flow(src, direction)
            if flow is None:
                continue
            own = _sample(flow, xy)  # [P, 2]
            step = self.at_frame[other][cand] - here
            miss = ((step - own[:, None]) ** 2).sum(-1)
            term = torch.exp(-0.5 * miss / self.sigma**2)
            agree = agree * torch.where(self.seen_at_frame[other][cand], term, torch.full_like(term, self.config.unmatched_agreement))
        return agree

    def _cached_weights(self, src: int, part: np.ndarray, chunk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`weights`, kept for the last few point sets: a frame's forward and backward vectors (and any product
        of the same frame's pixels) are two lookups with one set of weights."""
        key = (src, part.shape, hash(part.tobytes()))
        if key not in self._weights:
            self._weights[key] = self.weights(src, chunk)
            while len(self._weights) > WEIGHT_SETS_KEPT:
                self._weights.popitem(last=False)
        self._weights.move_to_end(key)
        return self._weights[key]

    def _flow(self, frame: int, direction: int) -> torch.Tensor | None:
        """The adjacent flow as a float32 tensor on the field's device, the last few kept (a frame is looked
        up chunk by chunk)."""
        key = (frame, direction)
        if key not in self._flows:
            flow = self.adjacent.step(frame, direction) if self.adjacent is not None else None
            self._flows[key] = None if flow is None else torch.from_numpy(np.asarray(flow, np.float32)).to(self.device)
            while len(self._flows) > 4:
                self._flows.popitem(last=False)
        self._flows.move_to_end(key)
        return self._flows[key]

    def map(self, src: int, xy: np.ndarray, dst: int) -> tuple[np.ndarray, np.ndarray]:
        """Points xy [P, 2] of frame `src` -> positions [P, 2] in frame `dst` and visible [P]."""
        pts = np.asarray(xy, np.float32).reshape(-1, 2)
        if src == dst:
            return pts.copy(), self._inside(torch.from_numpy(pts)).numpy()
        out = np.empty_like(pts)
        vis = np.empty(len(pts), bool)
        with torch.no_grad():
            for start in range(0, len(pts), self.config.chunk):
                part = pts[start:start + self.config.chunk]
                chunk = torch.from_numpy(part).to(self.device)
                cand, coeff, vote = self._cached_weights(src, part, chunk)
                safe = cand.clamp(min=0)
                moved = self.at_frame[dst][safe] - self.at_frame[src][safe]  # [P, K, 2]
                there = chunk + (coeff[..., None] * moved).sum(1)
                seen = (vote * self.seen_at_frame[dst][safe].float()).sum(1) >= 0.5
                out[start:start + len(chunk)] = there.cpu().numpy()
                vis[start:start + len(chunk)] = (seen & self._inside(there)).cpu().numpy()
        return out, vis

    def track(self, src: Sequence[int] | np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points of frames src [N] at xy [N, 2] -> tracks [N, T, 2] and visible [N, T] (every frame at once)."""
        src = np.asarray(src, np.int64).reshape(-1)
        pts = np.asarray(xy, np.float32).reshape(-1, 2)
        t = self.frames
        tracks = np.empty((len(pts), t, 2), np.float32)
        visible = np.empty((len(pts), t), bool)
        with torch.no_grad():
            for frame in np.unique(src):
                rows = np.nonzero(src == frame)[0]
                step = max(1, GATHER_BUDGET // (2 * t * TRACK_CANDIDATES))
                for start in range(0, len(rows), step):
                    part = rows[start:start + step]
                    chunk = torch.from_numpy(pts[part]).to(self.device)
                    cand, coeff, vote = self.weights(int(frame), chunk)
                    safe = cand.clamp(min=0)
                    moved = self.positions[safe] - self.positions[safe, int(frame)][:, :, None]  # [P, K, T, 2]
                    there = chunk[:, None] + (coeff[..., None, None] * moved).sum(1)
                    seen = (vote[..., None] * self.visible[safe].float()).sum(1) >= 0.5
                    seen = seen & self._inside(there.reshape(-1, 2)).reshape(seen.shape)
                    seen[:, int(frame)] = True
                    there[:, int(frame)] = chunk
                    tracks[part] = there.cpu().numpy()
                    visible[part] = seen.cpu().numpy()
        return tracks, visible

    def _inside(self, xy: torch.Tensor) -> torch.Tensor:
        w, h = self.size
        return (xy[:, 0] >= 0) & (xy[:, 0] <= w) & (xy[:, 1] >= 0) & (xy[:, 1] <= h)


def _valid_first(cand: torch.Tensor) -> torch.Tensor:
    """Candidates [P, K] with each row's valid ids first and the all-empty columns dropped: the arithmetic
    runs over the ~10 trajectories a point has, not the cells' capacity."""
    order = torch.argsort((cand < 0).to(torch.int8), dim=1, stable=True)
    cand = torch.gather(cand, 1, order)
    width = max(1, int((cand >= 0).sum(1).max())) if len(cand) else 1
    return cand[:, :width].contiguous()


def _pad(values: torch.Tensor, width: int, fill: float) -> torch.Tensor:
    """values [P, K] padded with `fill` to [P, width]."""
    if values.shape[1] >= width:
        return values
    extra = torch.full((len(values), width - values.shape[1]), fill, dtype=values.dtype, device=values.device)
    return torch.cat([values, extra], 1)


def _sample(image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Bilinear sample of image [H, W, C] at xy [P, 2] (pixel centres at +0.5, border clamped) -> [P, C]."""
    h, w = image.shape[:2]
    x = (xy[:, 0] - 0.5).clamp(0, w - 1)
    y = (xy[:, 1] - 0.5).clamp(0, h - 1)
    x0, y0 = x.floor().long(), y.floor().long()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy
