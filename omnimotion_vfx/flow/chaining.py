"""Chained correspondences: compose already-filtered shorter-gap flows into a longer-gap one.

A chain dies at its first bad link: a pixel stays valid only while every link is valid where the chain
reaches it and the chain stays inside the frame. The chained flow also warm-starts the direct long-gap flow.
"""

from __future__ import annotations

import cv2
import numpy as np

from .warp import inside_map, lands_inside, sample_map, targets


def compose_chain(links: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """links: (flow float [H, W, 2], valid bool [H, W]) from frame a to b, b to c, ... -> (flow a->end, valid).

    A link's validity is sampled with nearest-neighbour lookup so a chain never borrows a neighbour's verdict
    across an occlusion edge by interpolation."""
    flow = links[0][0].astype(np.float32)
    valid = links[0][1].copy()
    for link_flow, link_valid in links[1:]:
        where = targets(flow)
        reached = cv2.remap(link_valid.view(np.uint8), where, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        valid &= reached.view(bool) & inside_map(where)
        flow = flow + sample_map(link_flow.astype(np.float32), where)
    valid &= lands_inside(flow)
    return flow, valid
