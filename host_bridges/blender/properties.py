"""Per-scene settings of the panel (saved with the .blend)."""

from __future__ import annotations

import bpy

from . import jobs
from .vendor.omnimotion_vfx.daemon.protocol import DEFAULT_ENDPOINT

# Blender shows enum strings from Python without holding them: the lists stay referenced here.
_SHOWN: dict[str, list[tuple[str, str, str]]] = {}


def tracker_items(settings, context) -> list[tuple[str, str, str]]:
    """The daemon's trackers (jobs.TRACKER_MENUS), or the built-in list until the daemon is asked."""
    trackers, _ = jobs.tracker_menu_for(settings.address)
    _SHOWN["tracker"] = [(name, name, f"{name}: {', '.join(spec.get('presets') or {})}") for name, spec in trackers.items()]
    return _SHOWN["tracker"]


def preset_items(settings, context) -> list[tuple[str, str, str]]:
    """The presets of the chosen tracker, each with its one-line description."""
    trackers, _ = jobs.tracker_menu_for(settings.address)
    presets = (trackers.get(settings.tracker) or {}).get("presets") or {"default": ""}
    _SHOWN["preset"] = [(name, name.capitalize(), line) for name, line in presets.items()]
    return _SHOWN["preset"]


class OmniVFXSettings(bpy.types.PropertyGroup):
    address: bpy.props.StringProperty(name="Daemon", default=DEFAULT_ENDPOINT,
                                      description="ZeroMQ endpoint of `omnivfx serve`")
    curve_keys: bpy.props.StringProperty(name="Keys", subtype="DIR_PATH",
                                         description="Client key folder from `omnivfx keys DIR --client NAME` (encrypted daemons)")
    tracker: bpy.props.EnumProperty(name="Tracker", items=tracker_items,
                                    description="The daemon's trackers (the refresh button asks it)")
    preset: bpy.props.EnumProperty(name="Preset", items=preset_items, description="Presets of the chosen tracker")
    fit_minutes: bpy.props.FloatProperty(name="Fit minutes", default=0.0, min=0.0, soft_max=120.0,
                                         description="Deadline for OmniMotion's fit, in minutes of fitting; "
                                                     "0 = the preset's full schedule")
    frames_from: bpy.props.EnumProperty(name="Frames", default="AUTO", items=[
        ("AUTO", "Auto", "The clip's files for a local daemon, sent frames for a remote one"),
        ("PATH", "Clip files", "The daemon reads the clip's own files (same machine or shared storage)"),
        ("INLINE", "Send frames", "Send the frames through the connection"),
    ])
    grid_size: bpy.props.IntProperty(name="Grid", default=8, min=2, max=64, description="N x N points")
    region_spacing: bpy.props.FloatProperty(name="Spacing", default=16.0, min=1.0, description="Pixels between region points")
    region_mask: bpy.props.PointerProperty(name="Mask", type=bpy.types.Mask,
                                           description="Region to track (else the clip's annotation)")
    plane_track: bpy.props.BoolProperty(name="Plane track", default=False,
                                        description="Fit a plane track to exactly four tracks, for pinning")
    load_matte: bpy.props.BoolProperty(name="Load matte", default=False,
                                       description="Load the results' occlusion matte as an image sequence")
