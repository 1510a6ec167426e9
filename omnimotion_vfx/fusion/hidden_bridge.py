"""The last pass of the fusion: a track's hidden frames bridged smoothly between its visible ones.

Where the fusion hides a frame, the passes have left it wherever they last put it: the walk's position after a
slide onto an occluder, the re-solve's pull to the model, a run placed by links the visibility rules then
rejected. Those positions jump against the visible frames beside them, and an artist sees the jump wherever a
track is carried through an occlusion (a pin held out behind an arm comes back somewhere else). The bridge keeps
every visible frame exactly and re-places each hidden frame between two visible ones on the smoothest path
through them (least squared acceleration: a cubic across the gap), held weakly to where the passes put it
(`pull`). A `guide` (the fitted model's track) bends that path to follow its motion; on the rendered suite that
was no better in <delta_avg and worse in TC, so the fusion bridges without one. Before the first visible frame
and after the last there is nothing to bridge to, and those frames stay. Visibility and visible positions are
untouched, so AJ and OA do not move; what it buys is measured in <delta_avg and TC (docs/engine.md, "2026-12-06:
hidden frames bridged").
"""

from __future__ import annotations

import functools

import numpy as np
import torch

HELD = 1e6  # weight that holds a frame in the solve (it is copied back exactly afterwards)


@functools.lru_cache(maxsize=8)
def second_differences(frames: int) -> np.ndarray:
    """[T - 2, T]: row r is x[r] - 2 x[r + 1] + x[r + 2] (the acceleration at frame r + 1)."""
    second = np.zeros((max(frames - 2, 0), frames))
    for r in range(frames - 2):
        second[r, r:r + 3] = (1.0, -2.0, 1.0)
    second.flags.writeable = False  # cached and shared: nobody may change it in place
    return second


def visible_span(visible: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[N, T] -> each track's first and last visible frame, [N, 1] each (T and -1 where none is visible)."""
    frame = torch.arange(visible.shape[1], device=visible.device)
    first = torch.where(visible, frame, visible.shape[1]).min(dim=1, keepdim=True).values
    last = torch.where(visible, frame, -1).max(dim=1, keepdim=True).values
    return first, last


def interior_hidden(visible: torch.Tensor) -> torch.Tensor:
    """[N, T] hidden frames with a visible frame on each side: the ones a bridge joins. Before a track's first
    visible frame and after its last there is nothing to bridge to; extrapolating there lowered <delta_avg on 7 of
    12 rendered clips (docs/engine.md), so those frames keep the passes' positions."""
    first, last = visible_span(visible)
    frame = torch.arange(visible.shape[1], device=visible.device)
    return ~visible & (frame > first) & (frame < last)


def bridge_hidden(tracks: torch.Tensor, visible: torch.Tensor, pull: float,
                  guide: torch.Tensor | None = None) -> torch.Tensor:
    """tracks [N, T, 2] and visible [N, T] -> tracks whose hidden frames between visible ones minimise the squared
    acceleration of their offset from `guide` [N, T, 2] (a motion prior through the occlusion, such as the fitted
    model's track; None: a straight path) plus `pull` times their squared distance to the given positions. Every
    other frame is returned as given, and only accelerations between a track's first and last visible frames
    count, so positions outside them do not bend the bridge."""
    bridged = interior_hidden(visible)
    rows = torch.nonzero(bridged.any(dim=1)).flatten()  # only tracks with a gap to bridge are solved
    if len(rows) == 0:
        return tracks
    out = tracks.clone()
    out[rows] = _bridge_rows(tracks[rows], visible[rows], bridged[rows], pull, None if guide is None else guide[rows])
    return out


def _bridge_rows(tracks: torch.Tensor, visible: torch.Tensor, bridged: torch.Tensor, pull: float,
                 guide: torch.Tensor | None) -> torch.Tensor:
    """`bridge_hidden` on tracks that each have at least one frame to bridge (`bridged`)."""
    t = visible.shape[1]
    frame = torch.arange(t, device=tracks.device)
    first, last = visible_span(visible)
    second = torch.tensor(second_differences(t), device=tracks.device)  # [R, T], a copy of the read-only cache
    rows_inside = (frame[:-2] >= first) & (frame[2:] <= last)  # [N, R]: all three frames within the visible span
    a = torch.einsum("rt,nr,rs->nts", second, rows_inside.to(torch.float64), second)
    weight = torch.where(bridged, pull, HELD).to(torch.float64)
    a.diagonal(dim1=1, dim2=2).add_(weight)
    base = torch.zeros_like(tracks, dtype=torch.float64) if guide is None else guide.to(tracks.device, torch.float64)
    b = weight[..., None] * (tracks.to(torch.float64) - base)
    if tracks.device.type == "cpu":  # numpy's LAPACK loop beats torch's batched LU on small systems (link_fusion._solved)
        offset = torch.from_numpy(np.linalg.solve(a.numpy(), b.numpy()))
    else:
        offset = torch.linalg.solve(a, b)
    return torch.where(bridged[..., None], (base + offset).to(tracks.dtype), tracks)
