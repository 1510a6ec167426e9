"""Operators: start a tracking run (markers, grid or region), cancel it, check the daemon."""

from __future__ import annotations

import bpy

from . import jobs
from .apply import write_result
from .clip_source import clip_plate, daemon_is_local, scene_to_clip_frame
from .inline_frames import read_frames
from .queries import marker_queries, region_queries


def active_clip(context: bpy.types.Context) -> bpy.types.MovieClip | None:
    """The Clip Editor's clip, else the scene's active clip (so scripts and tests can run the operators)."""
    return getattr(context.space_data, "clip", None) or context.scene.active_clip


def client_args(settings) -> dict:
    """Client options from the panel: the CURVE key folder when the daemon encrypts."""
    return {"curve_keys": bpy.path.abspath(settings.curve_keys)} if settings.curve_keys else {}


class OMNIVFX_OT_track(bpy.types.Operator):
    """Track points with the omnivfx daemon without blocking Blender"""

    bl_idname = "omnivfx.track"
    bl_label = "Track"
    mode: bpy.props.EnumProperty(items=[
        ("MARKERS", "Selected markers", "The selected markers at the current frame are the queries"),
        ("GRID", "Grid", "An N x N grid at the current frame"),
        ("REGION", "Region", "Points inside a mask or an annotation at the current frame"),
    ])

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        clip = active_clip(context)
        return clip is not None and clip.name not in jobs.RUNS

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.omnivfx
        clip = active_clip(context)
        try:
            plate = clip_plate(clip)
            clip_frame = scene_to_clip_frame(clip, context.scene.frame_current)
            if not plate.plate_first <= plate.plate_frame(clip_frame) <= plate.plate_last:
                raise ValueError(f"clip frame {clip_frame} shows plate frame {plate.plate_frame(clip_frame)}, "
                                 f"outside the clip's files ({plate.frame_range})")
            names, submit = self._queries(clip, plate, clip_frame, settings)
            if settings.frames_from == "INLINE" or (settings.frames_from == "AUTO" and not daemon_is_local(settings.address)):
                submit.update(frames=read_frames(plate), first_frame=plate.plate_first)
            else:
                submit.update(plate=plate.path, frame_range=plate.frame_range)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            jobs.MESSAGES[clip.name] = str(exc)
            return {"CANCELLED"}
        submit.update(tracker=settings.tracker, preset=settings.preset)
        if settings.fit_minutes > 0:
            submit["fit_minutes"] = float(settings.fit_minutes)
        plane, matte, clip_name = settings.plane_track, settings.load_matte, clip.name

        def on_result(result) -> str:
            target = bpy.data.movieclips.get(clip_name)
            if target is None:
                raise KeyError(f"the clip {clip_name} was removed")
            return write_result(target, clip_plate(target), result, names, plane, matte)

        jobs.start(jobs.TrackRun(clip.name, settings.address, submit, on_result, client_args(settings)))
        return {"FINISHED"}

    def _queries(self, clip, plate, clip_frame, settings) -> tuple[list[str] | None, dict]:
        """Track names (None: the daemon's) and the query arguments of `Client.submit`."""
        if self.mode == "GRID":
            count = settings.grid_size ** 2
            return [f"grid_{i + 1:04d}" for i in range(count)], {"grid": settings.grid_size, "grid_frame": plate.plate_frame(clip_frame)}
        if self.mode == "REGION":
            points = region_queries(clip, plate, clip_frame, settings.region_mask, settings.region_spacing)
            return [f"region_{i + 1:04d}" for i in range(len(points))], {"queries": points}
        names, points = marker_queries(clip, plate, clip_frame)
        if not points:
            raise ValueError("select markers at the current frame first (muted markers do not count)")
        return names, {"queries": points, "query_names": names}


class OMNIVFX_OT_cancel(bpy.types.Operator):
    """Stop the clip's running job (the daemon keeps it resumable)"""

    bl_idname = "omnivfx.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        clip = active_clip(context)
        return clip is not None and clip.name in jobs.RUNS

    def execute(self, context: bpy.types.Context) -> set[str]:
        jobs.RUNS[active_clip(context).name].cancel()
        return {"FINISHED"}


class OMNIVFX_OT_check_daemon(bpy.types.Operator):
    """Ask the daemon for its status"""

    bl_idname = "omnivfx.check_daemon"
    bl_label = "Check daemon"

    def execute(self, context: bpy.types.Context) -> set[str]:
        jobs.probe(context.scene.omnivfx.address, client_args(context.scene.omnivfx))
        if not bpy.app.timers.is_registered(jobs.drain):
            bpy.app.timers.register(jobs.drain, first_interval=jobs.DRAIN_INTERVAL)
        return {"FINISHED"}
