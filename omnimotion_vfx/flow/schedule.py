"""Which frame pairs get a flow: adjacent, log-spaced gaps (MFT, N log N) or all N(N-1) ordered pairs."""

from __future__ import annotations


def schedule_gaps(num_frames: int, kind: str, max_gap: int | None = None) -> list[int]:
    """Gaps (ascending) of a schedule; the log schedule also ends on T-1 so first and last frame are linked."""
    top = num_frames - 1 if max_gap is None else min(max_gap, num_frames - 1)
    if top < 1:
        return []
    if kind == "adjacent":
        return [1]
    if kind == "exhaustive":
        return list(range(1, top + 1))
    gaps, g = [], 1
    while g <= top:
        gaps.append(g)
        g *= 2
    if gaps[-1] != top:
        gaps.append(top)
    return gaps


def pair_schedule(num_frames: int, kind: str, max_gap: int | None = None) -> list[tuple[int, int]]:
    """Ordered pairs (i, j), both directions, grouped by ascending gap (chains need the shorter gaps first)."""
    pairs = []
    for gap in schedule_gaps(num_frames, kind, max_gap):
        for i in range(num_frames - gap):
            pairs += [(i, i + gap), (i + gap, i)]
    return pairs


def decompose_gap(gap: int, gaps: list[int]) -> list[int]:
    """Split `gap` into shorter scheduled gaps, largest first (binary for the log schedule, g-1 + 1 when
    exhaustive), so each pair's chain is composed from a few already-computed pairs."""
    hops, rest = [], gap
    shorter = [g for g in gaps if g < gap]
    while rest > 0:
        step = max(g for g in shorter if g <= rest)
        hops.append(step)
        rest -= step
    return hops
