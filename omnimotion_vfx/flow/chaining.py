"""Chained correspondences: compose already-filtered shorter-gap flows into a longer-gap one.

A chain dies at its first bad link: a pixel stays valid only while every link is valid where the chain
reaches it and the chain stays inside the frame. The chained flow also warm-starts the direct long-gap flow.
"""

from __future__ import annotations

import numpy as np

from .warp import lands_inside, sample_at


def compose_chain(links: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """links: (flow float [H, W, 2], valid bool [H, W]) from frame a to b, b to c, ... -> (flow a->end, valid)."""
    flow = links[0][0].astype(np.float32)
    valid = links[0][1].copy()
    for link_flow, link_valid in links[1:]:
        valid &= lands_inside(flow)
        valid &= sample_at(link_valid.astype(np.float32), flow) > 0.999
        flow = flow + sample_at(link_flow.astype(np.float32), flow)
    valid &= lands_inside(flow)
    return flow, valid
