"""load_npz: the arrays np.load gives, one clear error for damage, and no two header parses at once (the
CPython 3.11 AST race that stopped a run reading the flow cache from a thread pool)."""

from __future__ import annotations

import ast
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from omnimotion_vfx.npz_arrays import load_npz


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"flow": rng.normal(size=(4, 5, 2)).astype(np.float16), "valid": np.packbits(rng.random(20) > 0.5),
            "source": np.array("dis"), "names": np.array(["a", "bb"])}


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_load_npz_gives_what_np_load_gives(tmp_path, save):
    path = tmp_path / "pair.npz"
    save(path, **_arrays())
    loaded = load_npz(path)
    with np.load(path) as expected:
        assert sorted(loaded) == sorted(expected.files)
        for name in expected.files:
            assert loaded[name].dtype == expected[name].dtype
            assert np.array_equal(loaded[name], expected[name])


def test_damaged_and_missing_files_raise_what_callers_catch(tmp_path):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, **_arrays())
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:-40])
    not_zip = tmp_path / "text.npz"
    not_zip.write_text("not an archive")
    for path in (truncated, not_zip):
        with pytest.raises(ValueError):
            load_npz(path)
    with pytest.raises(OSError):
        load_npz(tmp_path / "absent.npz")


def _most_parses_at_once(monkeypatch, load, path) -> int:
    """The most `ast.literal_eval` calls (numpy's .npy header parse) in flight together over 16 threaded loads."""
    real = ast.literal_eval
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def slow_literal_eval(text):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.002)  # releases the GIL, as a thread switch inside the parse would
        try:
            return real(text)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(ast, "literal_eval", slow_literal_eval)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: load(path), range(16)))
    monkeypatch.setattr(ast, "literal_eval", real)
    return state["most"]


def test_header_parses_never_overlap_across_threads(tmp_path, monkeypatch):
    path = tmp_path / "pair.npz"
    np.savez_compressed(path, **_arrays())

    def np_load_all(p):
        with np.load(p) as data:
            return {name: data[name] for name in data.files}

    assert _most_parses_at_once(monkeypatch, np_load_all, path) > 1  # the detector sees np.load's overlap
    assert _most_parses_at_once(monkeypatch, load_npz, path) == 1
