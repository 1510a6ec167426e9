"""OmniMotion VFX tracker for Blender's Movie Clip Editor: the thin bridge to the `omnivfx serve` daemon.

No torch and no tracking here: the add-on sends the clip (by path or frame by frame) and the query points to the
daemon, follows its progress from a worker thread and writes the answer as native tracks (docs/bridges.md).
Built into an extension zip with the client vendored by host_bridges/build_bridges.py.
"""

from __future__ import annotations

import bpy

from . import jobs
from .operators import OMNIVFX_OT_cancel, OMNIVFX_OT_check_daemon, OMNIVFX_OT_track
from .panel import CLIP_PT_omnivfx
from .properties import OmniVFXSettings

# Read only when the folder is installed as a legacy add-on (scripts/addons/omnivfx_tracker); Blender 4.2
# extensions take the same facts from blender_manifest.toml and ignore this.
bl_info = {
    "name": "OmniMotion VFX Tracker",
    "author": "omnimotion_vfx developers",
    "version": (0, 1, 0),
    "blender": (4, 2, 0),
    "location": "Movie Clip Editor > Sidebar > OmniVFX",
    "description": "Dense point tracking through occlusions from the omnivfx daemon",
    "category": "Video Tools",
}

CLASSES = (OmniVFXSettings, OMNIVFX_OT_track, OMNIVFX_OT_cancel, OMNIVFX_OT_check_daemon, CLIP_PT_omnivfx)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.omnivfx = bpy.props.PointerProperty(type=OmniVFXSettings)


def unregister() -> None:
    for run in list(jobs.RUNS.values()):
        run.cancel()
    if bpy.app.timers.is_registered(jobs.drain):
        bpy.app.timers.unregister(jobs.drain)
    del bpy.types.Scene.omnivfx
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
