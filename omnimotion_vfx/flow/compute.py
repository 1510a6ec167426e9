"""compute_correspondences: the engine's input from a clip, pair by pair, cached and resumable.

Pairs are processed by ascending gap, so every longer-gap pair can chain (and warm-start from) filtered
shorter-gap pairs. Both directions of a pair are computed together because each one's cycle check needs the
other. Within a gap the pairs run on a thread pool: DIS, remap and the box filters release the GIL.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..progress import NullProgress, ProgressReporter, StopToken
from .appearance import appearance_agrees
from .backends import FlowBackend, batch_pairs, flows_of, make_backend, resolve_backend
from .cache import FlowCache
from .chaining import compose_chain
from .config import FlowConfig
from .correspondences import Correspondences, PairFlow
from .cycle_consistency import consistent_mask, cycle_offset, occluded_reliable_mask
from .schedule import decompose_gap, pair_schedule, schedule_gaps
from .sparse_matches import KeypointMatcher, sparse_where_dense_fails


def check_video(video: np.ndarray) -> None:
    if not isinstance(video, np.ndarray) or video.dtype != np.uint8 or video.ndim != 4 or video.shape[3] != 3:
        raise InputError("flow needs the clip as uint8 [T, H, W, 3]; load it with Plate.load_uint8()")
    if len(video) < 2:
        raise InputError(f"flow needs at least 2 frames, the clip has {len(video)}; widen --frames")


class PairBuilder:
    """Computes, filters and fuses both directions of one frame pair (the unit of work and of resuming)."""

    def __init__(self, video: np.ndarray, config: FlowConfig, backend: FlowBackend, gaps: list[int]) -> None:
        self.config = config
        self.backend = backend
        self.gaps = gaps
        height = video.shape[1]
        self.gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in video]
        self.cycle = config.px(config.cycle_px, height)
        self.chain_cycle = config.px(config.chain_cycle_px, height)
        self.occluded = config.px(config.occluded_cycle_px, height)
        self.double = config.px(config.double_cycle_px, height)
        self.radius = max(3, round(config.px(config.appearance_radius_px, height)))  # 7x7 at least: smaller patches correlate by chance

    def chain(self, pairs: dict[tuple[int, int], PairFlow], i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """The chained flow i -> j through shorter scheduled pairs (already fused and filtered)."""
        sign = 1 if j > i else -1
        links, a = [], i
        for hop in decompose_gap(abs(j - i), self.gaps):
            b = a + sign * hop
            links.append((pairs[(a, b)].flow, pairs[(a, b)].valid))
            a = b
        return compose_chain(links)

    def build(self, pairs: dict[tuple[int, int], PairFlow], todo: list[tuple[int, int]]) -> list[tuple[PairFlow, PairFlow]]:
        """Both directions of each pair in `todo` (all of one gap): the backend gets their flows in one call, so a
        batched backend (torch on a GPU) solves them together."""
        chains, requests = [], []
        for i, j in todo:
            chained = abs(j - i) > 1 and (self.config.chain or self.config.warm_start)
            c_ij = self.chain(pairs, i, j) if chained else None
            c_ji = self.chain(pairs, j, i) if chained else None
            warm = self.config.warm_start and chained
            chains.append((c_ij, c_ji))
            requests += [(i, j, c_ij[0] if warm else None), (j, i, c_ji[0] if warm else None)]
        flows = flows_of(self.backend, requests)
        built = []
        for k, ((i, j), (c_ij, c_ji)) in enumerate(zip(todo, chains)):
            d_ij, d_ji = flows[2 * k], flows[2 * k + 1]
            if c_ij is not None and self.config.chain:
                c_ij, c_ji = self._consistent_chains(c_ij, c_ji)
            built.append((self._fuse(i, j, d_ij, d_ji, c_ij), self._fuse(j, i, d_ji, d_ij, c_ji)))
        return built

    def _consistent_chains(self, c_ij: tuple[np.ndarray, np.ndarray], c_ji: tuple[np.ndarray, np.ndarray]) -> tuple:
        """Chains also get the forward-backward check: drift that every link hid shows up as a cycle error."""
        (f_ij, v_ij), (f_ji, v_ji) = c_ij, c_ji
        v_ij = v_ij & consistent_mask(*cycle_offset(f_ij, f_ji), self.chain_cycle)
        v_ji = v_ji & consistent_mask(*cycle_offset(f_ji, f_ij), self.chain_cycle)
        return (f_ij, v_ij), (f_ji, v_ji)

    def _fuse(self, i: int, j: int, d_ij: np.ndarray, d_ji: np.ndarray, chain: tuple[np.ndarray, np.ndarray] | None) -> PairFlow:
        """Direct where consistent; elsewhere the chain where it survived; the raw direct flow under invalid
        pixels. One appearance check on that fused flow covers both the direct matches from
        appearance_min_gap on and every chained match (half the cost of checking the two flows apart)."""
        gap = abs(j - i)
        back, inside = cycle_offset(d_ij, d_ji)
        direct = consistent_mask(back, inside, self.cycle)
        occluded = None
        if gap <= self.config.occluded_max_gap:
            occluded = occluded_reliable_mask(d_ij, back, inside, self.occluded, self.double) & ~direct
        flow = d_ij
        use_chain = np.zeros_like(direct)
        if self.config.chain and chain is not None:
            use_chain = chain[1] & ~direct
            if use_chain.any():
                flow = d_ij.copy()
                np.copyto(flow, chain[0], where=use_chain[..., None])
        if gap >= self.config.appearance_min_gap or use_chain.any():
            alike = self._looks_alike(i, j, flow)
            use_chain &= alike
            if gap >= self.config.appearance_min_gap:
                direct &= alike
        valid = direct | use_chain
        source = "direct"
        if use_chain.any():
            source = "direct+chained" if direct.any() else "chained"
        return PairFlow(i, j, flow.astype(np.float16), valid, occluded, source)

    def _looks_alike(self, i: int, j: int, flow: np.ndarray) -> np.ndarray:
        return appearance_agrees(self.gray[i], self.gray[j], flow, self.radius, self.config.appearance_min_ncc)


def compute_correspondences(
    video: np.ndarray,
    config: FlowConfig | None = None,
    cache_dir: Path | None = None,
    progress: ProgressReporter | None = None,
    stop: StopToken | None = None,
    device: str = "cpu",
) -> Correspondences:
    """Filtered pairwise correspondences of a uint8 clip [T, H, W, 3]; cached under `cache_dir` when given.
    `device` (cpu | cuda | auto, the run's) is where a torch flow backend runs.

    Raises InputError for a bad clip or backend set-up and Interrupted when `stop` is requested (finished
    pairs stay cached, so running again resumes)."""
    check_video(video)
    config = resolve_backend(config or FlowConfig(), device)
    progress = progress or NullProgress()
    stop = stop or StopToken()
    num_frames, height, width = video.shape[:3]
    gaps = schedule_gaps(num_frames, config.pairs, config.max_gap)
    backend = make_backend(config, video, device)
    cache = FlowCache(Path(cache_dir), video, config) if cache_dir is not None else None
    builder = PairBuilder(video, config, backend, gaps)
    pairs: dict[tuple[int, int], PairFlow] = {}
    workers = config.workers or os.cpu_count() or 1
    per_task = batch_pairs(backend)

    def task(chunk: list[tuple[int, int]]) -> list[tuple[PairFlow, PairFlow]] | None:
        done, todo = [], []
        for i, j in chunk:
            cached = (cache.load_pair(i, j), cache.load_pair(j, i)) if cache is not None else (None, None)
            if cached[0] is not None and cached[1] is not None:
                done.append(cached)
            else:
                todo.append((i, j))
        if todo and stop.requested:
            return None
        for ij, ji in builder.build(pairs, todo):
            if cache is not None:
                cache.save_pair(ij)
                cache.save_pair(ji)
            done.append((ij, ji))
        return done

    progress.begin("flow", len(pair_schedule(num_frames, config.pairs, config.max_gap)))
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # parallel over pairs instead: one DIS per thread scales better on few cores
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for gap in gaps:
                level = [(i, i + gap) for i in range(num_frames - gap)]
                chunks = [level[k:k + per_task] for k in range(0, len(level), per_task)]
                for done in pool.map(task, chunks):
                    for both in done or []:
                        for pair in both:
                            pairs[(pair.i, pair.j)] = pair
                        progress.advance(2, gap=gap)
                stop.raise_if_requested("flow pairs computed so far are cached")
            sparse = None
            if config.sparse and gaps and gaps[-1] >= config.sparse_min_gap:
                sparse = cache.load_sparse() if cache is not None else None
                if sparse is None:
                    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in video]
                    matcher = KeypointMatcher(gray, config.sparse_detector, config.sparse_max_features, config.sparse_ratio, pool)
                    sparse = sparse_where_dense_fails(matcher, pairs, config.sparse_min_gap, pool, config.px(config.cycle_px, height))
                    if cache is not None:
                        cache.save_sparse(sparse)
    finally:
        cv2.setNumThreads(threads)
    progress.end()

    counts = np.zeros((num_frames, height, width), np.float32)
    for (i, _), pair in pairs.items():
        counts[i] += pair.valid
    params = config.recorded() | {"gaps": gaps, "cache": str(cache.folder) if cache else None}
    return Correspondences(num_frames, (width, height), pairs, counts, sparse, params)
