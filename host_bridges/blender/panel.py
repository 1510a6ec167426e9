"""The sidebar panel of the Movie Clip Editor (tab "OmniVFX")."""

from __future__ import annotations

import bpy

from . import jobs
from .operators import active_clip


class CLIP_PT_omnivfx(bpy.types.Panel):
    bl_space_type = "CLIP_EDITOR"
    bl_region_type = "UI"
    bl_category = "OmniVFX"
    bl_label = "OmniMotion tracker"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return active_clip(context) is not None

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        settings = context.scene.omnivfx
        clip = active_clip(context)
        row = layout.row(align=True)
        row.prop(settings, "address", text="")
        row.operator("omnivfx.check_daemon", text="", icon="FILE_REFRESH")
        layout.prop(settings, "curve_keys")
        if settings.address in jobs.DAEMON_STATUS:
            layout.label(text=jobs.DAEMON_STATUS[settings.address])
        _, why = jobs.tracker_menu_for(settings.address)
        layout.label(text=f"Trackers and presets: built-in list ({why})" if why else "Trackers and presets from the daemon")
        col = layout.column(align=True)
        col.prop(settings, "tracker")
        col.prop(settings, "preset")
        col.prop(settings, "fit_minutes")
        col.prop(settings, "frames_from")
        col = layout.column(align=True)
        col.operator("omnivfx.track", text="Track selected markers", icon="TRACKING_FORWARDS").mode = "MARKERS"
        row = col.row(align=True)
        row.operator("omnivfx.track", text="Track grid", icon="MESH_GRID").mode = "GRID"
        row.prop(settings, "grid_size", text="")
        row = col.row(align=True)
        row.operator("omnivfx.track", text="Track region", icon="MOD_MASK").mode = "REGION"
        row.prop(settings, "region_spacing", text="")
        col.prop(settings, "region_mask", text="")
        row = layout.row()
        row.prop(settings, "plane_track")
        row.prop(settings, "load_matte")
        run, message = jobs.view(clip.name)
        if run is not None:
            box = layout.box()
            box.label(text=f"{run.stage}: {run.fraction:.0%}", icon="TIME")
            box.operator("omnivfx.cancel", icon="CANCEL")
        for line in _wrap(message):
            layout.label(text=line)


def _wrap(text: str, width: int = 48) -> list[str]:
    """Panel labels do not wrap; split long messages (e.g. the daemon's start command) at spaces."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])
