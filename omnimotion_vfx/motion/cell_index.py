"""A fixed-capacity spatial hash of the trajectories visible in one frame: for any pixels, the trajectories in
the 3 x 3 cells around them, as one gather (no per-pixel loops, same code on CPU and GPU)."""

from __future__ import annotations

import math

import torch

NEIGHBOURS = torch.tensor([(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], dtype=torch.long)


class CellIndex:
    """Cells `cell` pixels wide over a (width, height) frame, each holding up to `capacity` node ids; query
    trajectories (`priority`) are kept before seeded ones when a cell overflows."""

    def __init__(self, points: torch.Tensor, ids: torch.Tensor, priority: torch.Tensor, cell: float,
                 size: tuple[int, int], capacity: int) -> None:
        device = points.device
        self.cell = float(cell)
        self.columns = math.ceil(size[0] / cell) + 1
        self.rows = math.ceil(size[1] / cell) + 1
        self.capacity = capacity
        self.points = points
        self.ids = ids
        cells = self._cell_of(points)
        order = torch.argsort(cells * 2 + (~priority).long(), stable=True)
        cells_sorted = cells[order]
        rank = torch.arange(len(order), device=device) - torch.searchsorted(cells_sorted, cells_sorted)
        keep = rank < capacity
        # one extra all-empty row stands for cells outside the frame
        self.table = torch.full((self.columns * self.rows + 1, capacity), -1, dtype=torch.long, device=device)
        self.table[cells_sorted[keep], rank[keep]] = ids[order][keep]

    def _cell_of(self, xy: torch.Tensor) -> torch.Tensor:
        cx = torch.clamp(torch.floor(xy[:, 0] / self.cell).long(), 0, self.columns - 1)
        cy = torch.clamp(torch.floor(xy[:, 1] / self.cell).long(), 0, self.rows - 1)
        return cy * self.columns + cx

    def candidates(self, xy: torch.Tensor) -> torch.Tensor:
        """long [P, 9 * capacity]: node ids in the 3 x 3 cells around each of xy [P, 2]; -1 where empty."""
        cx = torch.floor(xy[:, 0] / self.cell).long()[:, None] + NEIGHBOURS[:, 0].to(xy.device)
        cy = torch.floor(xy[:, 1] / self.cell).long()[:, None] + NEIGHBOURS[:, 1].to(xy.device)
        inside = (cx >= 0) & (cx < self.columns) & (cy >= 0) & (cy < self.rows)
        cells = torch.where(inside, cy * self.columns + cx, torch.full_like(cx, self.columns * self.rows))
        return self.table[cells].reshape(len(xy), -1)

    def nearest(self, xy: torch.Tensor, count: int) -> torch.Tensor:
        """long [P, count]: the `count` nearest nodes by brute force (pixels whose 3 x 3 cells are empty)."""
        if len(self.points) == 0:
            return torch.full((len(xy), count), -1, dtype=torch.long, device=xy.device)
        k = min(count, len(self.points))
        order = torch.cdist(xy, self.points).topk(k, dim=1, largest=False).indices
        found = self.ids[order]
        if k < count:
            found = torch.cat([found, torch.full((len(xy), count - k), -1, dtype=torch.long, device=xy.device)], 1)
        return found
