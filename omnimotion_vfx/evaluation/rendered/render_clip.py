"""Render one recipe with Blender (bpy) into a folder: PNG frames, ground truth and timings.

Run as its own process (`python -m omnimotion_vfx.evaluation.rendered.render_clip RECIPE_JSON OUT_DIR`) so that
Blender's state, threads and memory never share a process with the trackers; cache.py calls it.
Writes OUT_DIR/frames/0001.png..., OUT_DIR/truth.npz (tracks [N, T, 2] float32 in pixels with the origin at the
top-left corner, visible [N, T], picked_frame [N], object [N], background [N], object_names) and
OUT_DIR/render.json (seconds for the ground truth and the render, Cycles settings).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import bpy
import numpy as np

from .blender_scene import build_scene
from .blender_truth import follow_points, pick_points, trackable_objects
from .recipes import RenderedClip


def render_clip(recipe: RenderedClip, out: Path, threads: int | None = None) -> dict:
    started = time.perf_counter()
    scene = build_scene(recipe)
    objects = trackable_objects(scene)
    points = pick_points(scene, objects, recipe.frames, recipe.tracks, recipe.seed)
    if len(points.obj) != recipe.tracks:
        raise RuntimeError(f"{recipe.name}: found {len(points.obj)} clean surface points of {recipe.tracks}")
    tracks, visible = follow_points(scene, objects, points, recipe.frames)
    truth_seconds = time.perf_counter() - started
    np.savez_compressed(out / "truth.npz", tracks=tracks, visible=visible, picked_frame=points.picked_frame,
                        object=points.obj, background=np.array([objects[k]["gt_class"] == "background" for k in points.obj], bool),
                        object_names=np.array([obj.name for obj in objects]))
    (out / "frames").mkdir(exist_ok=True)
    scene.render.filepath = str(out / "frames" / "####")
    scene.render.threads_mode = "FIXED" if threads else "AUTO"
    if threads:
        scene.render.threads = threads
    started = time.perf_counter()
    bpy.ops.render.render(animation=True)
    render_seconds = time.perf_counter() - started
    stats = {"truth_seconds": truth_seconds, "render_seconds": render_seconds,
             "seconds_per_frame": render_seconds / recipe.frames, "samples": recipe.samples,
             "threads": scene.render.threads, "blender": bpy.app.version_string}
    (out / "render.json").write_text(json.dumps(stats, indent=1))
    return stats


def main(argv: list[str]) -> int:
    recipe = RenderedClip.from_json(Path(argv[0]).read_text())
    threads = int(os.environ["OMNIVFX_RENDER_THREADS"]) if os.environ.get("OMNIVFX_RENDER_THREADS") else None
    render_clip(recipe, Path(argv[1]), threads)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
