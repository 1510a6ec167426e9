"""Regenerate the bundled sample plate samples/orbit/ (deterministic: same files on every run).

    .venv/bin/python samples/make_orbit.py

A 36-frame 256x256 8-bit PNG plate (orbit.1001.png ... orbit.1036.png) rendered by the project's synthetic
plate generator: a textured background under a panning, rolling, zooming camera and three textured objects
that cross and hide one another. Also writes points.csv (named queries at frame 1001, some of which get
occluded or leave the frame) and ground_truth.npz (their exact tracks and visibility).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from omnimotion_vfx.evaluation.plate_writer import write_plate
from omnimotion_vfx.evaluation.synthetic import SceneParams, build_scene, ground_truth, render, sample_points

FIRST_FRAME = 1001
PARAMS = SceneParams(seed=24, width=256, height=256, frames=36, objects=3, camera_speed=2.0, object_speed=3.0)
# how many named points of each kind to keep, in this order
PICKS = (("bg_hidden", 5), ("bg_exits", 3), ("bg", 3), ("obj_hidden", 4), ("obj", 3))


def categorise(layer: int, tracks: np.ndarray, visible: np.ndarray, size: tuple[int, int]) -> str:
    """What happens to a point: hidden behind a nearer layer, leaving the frame, or always in view."""
    width, height = size
    inside = (tracks[:, 0] >= 0) & (tracks[:, 0] < width) & (tracks[:, 1] >= 0) & (tracks[:, 1] < height)
    kind = "bg" if layer == 0 else "obj"
    if (inside & ~visible).any():
        return f"{kind}_hidden"
    if not inside.all() and kind == "bg":
        return "bg_exits"
    return kind


def named_points(scene) -> tuple[np.ndarray, list[str]]:
    """The sample's queries [N, 3] (0-based frame, x, y; rounded as in points.csv) and their names."""
    candidates = sample_points(scene, 400, seed=0, frame=0)
    kinds = [categorise(int(layer), tr, vis, scene.size) for layer, tr, vis in zip(candidates.layers, candidates.tracks, candidates.visible)]
    names, rows = [], []
    for kind, count in PICKS:
        picked = [i for i, k in enumerate(kinds) if k == kind][:count]
        if len(picked) < count:
            raise RuntimeError(f"seed {PARAMS.seed} has only {len(picked)} '{kind}' points; pick another seed")
        names += [f"{kind}_{n + 1:02d}" for n in range(count)]
        rows += picked
    return np.round(candidates.queries[rows], 3), names


def main(out: Path = Path(__file__).resolve().parent / "orbit") -> None:
    scene = build_scene(PARAMS)
    queries, names = named_points(scene)
    for old in out.glob("orbit.*.png"):
        old.unlink()
    write_plate(render(scene), out, "orbit.%04d.png", FIRST_FRAME)
    tracks, visible = ground_truth(scene, queries)  # for the rounded queries, exactly as points.csv has them
    queries[:, 0] += FIRST_FRAME
    with open(out / "points.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["frame", "x", "y", "name"])
        for (frame, x, y), name in zip(queries, names):
            writer.writerow([int(frame), f"{x:.3f}", f"{y:.3f}", name])
    np.savez_compressed(
        out / "ground_truth.npz",
        frames=np.arange(FIRST_FRAME, FIRST_FRAME + PARAMS.frames, dtype=np.int32),
        query_points=queries.astype(np.float32),
        tracks=tracks.astype(np.float32),
        visible=visible,
        names=np.array(names),
    )


if __name__ == "__main__":
    main()
