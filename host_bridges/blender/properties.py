"""Per-scene settings of the panel (saved with the .blend)."""

from __future__ import annotations

import bpy

from .vendor.omnimotion_vfx.daemon.protocol import DEFAULT_ENDPOINT


class OmniVFXSettings(bpy.types.PropertyGroup):
    address: bpy.props.StringProperty(name="Daemon", default=DEFAULT_ENDPOINT,
                                      description="ZeroMQ endpoint of `omnivfx serve`")
    curve_keys: bpy.props.StringProperty(name="Keys", subtype="DIR_PATH",
                                         description="Client key folder from `omnivfx keys DIR --client NAME` (encrypted daemons)")
    tracker: bpy.props.EnumProperty(name="Tracker", default="omnimotion", items=[
        ("omnimotion", "OmniMotion", "Tracks through occlusions; fits the whole clip (slow, best)"),
        ("chained-flow", "Chained flow", "Optical flow chained frame to frame (fast preview)"),
    ])
    preset: bpy.props.EnumProperty(name="Preset", default="default", items=[
        ("preview", "Preview", "Quick look"), ("default", "Default", "Production default"),
        ("volumetric", "Volumetric", "The published volumetric model, CPU-sized: slower than Default, same accuracy"),
        ("paper", "Paper", "The published settings (slowest)"),
    ])
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
