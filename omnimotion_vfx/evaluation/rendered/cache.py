"""Rendered clips on first use: Blender renders a recipe once into a cache outside the repository.

The cache root is `$OMNIVFX_SUITE_CACHE`, else `~/.cache/omnimotion_vfx/rendered`; each clip is a folder named
by its recipe and a hash of the recipe and GENERATOR_VERSION, holding JPEG frames (sensor noise added, quality
95), `truth.npz` and `render.json` (render seconds). A clip is rendered into a temporary folder and renamed into
place when complete, so an interrupted render is redone, never half-used. Rendering needs `bpy` (the test
extra); it runs in a child process (render_clip.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio

from ...errors import InputError
from .recipes import RenderedClip

GENERATOR_VERSION = 1  # bump when a change to the scene builder or the ground truth changes any clip
JPEG_QUALITY = 95


@dataclass
class RenderedFrames:
    video: np.ndarray  # uint8 [T, H, W, 3] RGB
    tracks: np.ndarray  # float32 [N, T, 2] pixels, origin at the top-left corner
    visible: np.ndarray  # bool [N, T]
    picked_frame: np.ndarray  # int [N] frame each point was picked in (0-based)
    layers: np.ndarray  # int [N]: 0 for the background (ground, walls), 1 + object index for objects
    render: dict  # seconds and settings of the render


def cache_root() -> Path:
    configured = os.environ.get("OMNIVFX_SUITE_CACHE", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "omnimotion_vfx" / "rendered"


def clip_folder(recipe: RenderedClip) -> Path:
    return cache_root() / recipe.key(GENERATOR_VERSION)


def load_rendered(recipe: RenderedClip) -> RenderedFrames:
    """The clip's frames and ground truth, rendering it first if the cache does not hold it."""
    folder = clip_folder(recipe)
    if not (folder / "done.json").is_file():
        render_into_cache(recipe)
    files = sorted((folder / "frames").glob("*.jpg"))
    video = np.stack([cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for path in files])
    with np.load(folder / "truth.npz") as truth:
        layers = np.where(truth["background"], 0, truth["object"] + 1)
        return RenderedFrames(video, truth["tracks"], truth["visible"], truth["picked_frame"], layers,
                              json.loads((folder / "render.json").read_text()))


def render_into_cache(recipe: RenderedClip) -> Path:
    """Render the recipe with Blender in a child process, add sensor noise, store JPEG frames; returns the folder."""
    if importlib.util.find_spec("bpy") is None:
        raise InputError("rendering the 3-D suite needs Blender as a Python module: pip install -e '.[test]' (bpy 4.2)")
    folder = clip_folder(recipe)
    work = folder.parent / f".{folder.name}.rendering-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        (work / "recipe.json").write_text(recipe.to_json())
        run = subprocess.run([sys.executable, "-m", "omnimotion_vfx.evaluation.rendered.render_clip", str(work / "recipe.json"),
                              str(work)], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"Blender failed to render {recipe.name}: {run.stderr.strip()[-2000:]}")
        _finish_frames(recipe, work)
        (work / "done.json").write_text(json.dumps({"recipe": json.loads(recipe.to_json()), "generator": GENERATOR_VERSION}))
        _publish(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone after a publish; an interrupted or failed render leaves nothing
    return folder


def _publish(work: Path, folder: Path) -> None:
    """Rename the finished render into place, unless another process finished the same clip first (then its
    copy stays and this one is dropped by the caller)."""
    if (folder / "done.json").is_file():
        return
    shutil.rmtree(folder, ignore_errors=True)  # an incomplete folder from an older layout or a crash
    try:
        os.replace(work, folder)
    except OSError:
        if not (folder / "done.json").is_file():
            raise


def _finish_frames(recipe: RenderedClip, work: Path) -> None:
    """Sensor noise (Gaussian, `recipe.noise` 8-bit levels, seeded) on each rendered PNG, stored as JPEG."""
    rng = np.random.default_rng([recipe.seed, 3])
    pngs = sorted((work / "frames").glob("*.png"))
    if len(pngs) != recipe.frames:
        raise RuntimeError(f"Blender wrote {len(pngs)} frames of {recipe.name}, expected {recipe.frames}")
    for path in pngs:
        image = oiio.ImageBuf(str(path)).get_pixels(oiio.UINT8)[..., 2::-1].astype(np.float32)  # RGB -> BGR for cv2
        image += rng.normal(0.0, recipe.noise, image.shape).astype(np.float32)
        cv2.imwrite(str(path.with_suffix(".jpg")), np.clip(np.round(image), 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        path.unlink()
