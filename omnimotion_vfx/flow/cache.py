"""On-disk flow cache: one compact file per ordered pair, written atomically, so a killed run resumes and a
changed engine setting reuses the flow.

Layout under the caller's folder (the track job passes <results>/work/flow):
    <plate hash>-<dense params hash>/
        params.json                  the dense FlowConfig fields and the clip size
        gap1/00012_00013.npz         adjacent pairs (shared by every schedule and the chained tracker)
        <schedule>/00012_00016.npz   longer gaps (their chains depend on the schedule)
        <schedule>/sparse-<hash>.npz long-range keypoint matches
Each pair file holds the flow float16 [H, W, 2] as its two byte planes (`flow_bytes` uint8 [2, H, W, 2]: the
low bytes, then the sign/exponent bytes, which deflate well apart), valid and occluded_reliable as np.packbits,
and the source tag, deflated (np.savez_compressed): 1.8x smaller than plain float16, for under 1 ms more per
pair read (docs/flow.md). Files holding a plain `flow` array (older caches) are still read. The track job
removes the cache once its results are written (results/work_cache.py), unless asked to keep it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..file_modes import publish
from ..npz_arrays import load_npz
from .config import FlowConfig
from .correspondences import PairFlow, SparseMatches


def plate_hash(video: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(str(video.shape).encode())
    digest.update(np.ascontiguousarray(video).data)
    return digest.hexdigest()


def params_hash(params: dict) -> str:
    return hashlib.blake2b(json.dumps(params, sort_keys=True).encode(), digest_size=6).hexdigest()


def schedule_name(config: FlowConfig) -> str:
    return config.pairs if config.max_gap is None else f"{config.pairs}-max{config.max_gap}"


def atomic_save_npz(path: Path, arrays: dict[str, np.ndarray], compressed: bool = False) -> None:
    """np.savez (deflated when `compressed`) to a temporary file in the same folder, then rename: a kill leaves
    no half-written pair. The file gets the mode the umask allows, not mkstemp's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            (np.savez_compressed if compressed else np.savez)(handle, **arrays)
        publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def split_bytes(flow: np.ndarray) -> np.ndarray:
    """float [..., C] -> its little-endian float16 bytes as planes uint8 [2, ..., C] (low bytes, high bytes)."""
    planes = np.ascontiguousarray(flow, "<f2").view(np.uint8).reshape(*flow.shape, 2)
    return np.ascontiguousarray(np.moveaxis(planes, -1, 0))


def join_bytes(planes: np.ndarray) -> np.ndarray:
    """The inverse of `split_bytes`: uint8 [2, ..., C] -> float16 [..., C], bit for bit."""
    return np.ascontiguousarray(np.moveaxis(planes, 0, -1)).view("<f2")[..., 0].astype(np.float16)


class FlowCache:
    def __init__(self, root: Path, video: np.ndarray, config: FlowConfig) -> None:
        dense = config.dense_key()
        self.folder = Path(root) / f"{plate_hash(video)}-{params_hash(dense)}"
        self.schedule = schedule_name(config)
        self.sparse_name = f"sparse-{params_hash(config.sparse_key())}.npz"
        self.size = (video.shape[2], video.shape[1])
        params = self.folder / "params.json"
        if not params.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            params.write_text(json.dumps({"dense": dense, "frames": len(video), "size": list(self.size)}, indent=2) + "\n")

    def pair_path(self, i: int, j: int) -> Path:
        sub = "gap1" if abs(j - i) == 1 else self.schedule
        return self.folder / sub / f"{i:05d}_{j:05d}.npz"

    def load_pair(self, i: int, j: int) -> PairFlow | None:
        """The cached pair, or None when absent or unreadable (a damaged file is recomputed)."""
        path = self.pair_path(i, j)
        if not path.exists():
            return None
        w, h = self.size
        try:
            data = load_npz(path)  # from the flow's thread pool: np.load is not safe there (npz_arrays.py)
            flow = join_bytes(data["flow_bytes"]) if "flow_bytes" in data else data["flow"]
            valid = np.unpackbits(data["valid"], count=h * w).reshape(h, w).astype(bool)
            occluded = None
            if "occluded_reliable" in data:
                occluded = np.unpackbits(data["occluded_reliable"], count=h * w).reshape(h, w).astype(bool)
            source = str(data["source"])
        except (OSError, ValueError, KeyError):
            return None
        if flow.shape != (h, w, 2):
            return None
        return PairFlow(i, j, flow, valid, occluded, source)

    def save_pair(self, pair: PairFlow) -> None:
        arrays = {
            "flow_bytes": split_bytes(pair.flow),
            "valid": np.packbits(pair.valid.ravel()),
            "source": np.array(pair.source),
        }
        if pair.occluded_reliable is not None:
            arrays["occluded_reliable"] = np.packbits(pair.occluded_reliable.ravel())
        atomic_save_npz(self.pair_path(pair.i, pair.j), arrays, compressed=True)

    def load_sparse(self) -> SparseMatches | None:
        path = self.folder / self.schedule / self.sparse_name
        if not path.exists():
            return None
        try:
            data = load_npz(path)
            return SparseMatches(data["i"], data["j"], data["xy_i"], data["xy_j"])
        except (OSError, ValueError, KeyError):
            return None

    def save_sparse(self, sparse: SparseMatches) -> None:
        atomic_save_npz(self.folder / self.schedule / self.sparse_name, {"i": sparse.i, "j": sparse.j, "xy_i": sparse.xy_i, "xy_j": sparse.xy_j},
                        compressed=True)
