"""A Blender session driven by tests/test_bridge_blender.py, run in its own process with the real bpy module.

It installs the built extension zip the way an artist's Blender does, loads a clip from a PNG plate, adds and
selects markers, presses the add-on's operators against the daemon given on the command line and writes what
Blender holds afterwards (tracks, markers, mute flags, plane track, panel messages) to a JSON file.

bpy as a module has no event loop, so bpy.app.timers never fire: the session calls the add-on's timer function
(`jobs.drain`, the function the operator registered) itself until the run ends, as Blender's loop would.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from types import SimpleNamespace

import bpy

ADDON = "bl_ext.user_default.omnivfx_tracker"


def pump(jobs, clip_name: str, timeout: float = 60.0) -> dict:
    """Drive the timer until the clip's run ends; returns what the panel showed on the way. Stages are
    recorded, and the panel drawn, as each progress event is applied (a short job's events can all arrive
    within one drain, which also ends the run)."""
    assert bpy.app.timers.is_registered(jobs.drain), "the operator did not register its timer"
    seen, outline = set(), None
    handle = jobs._handle

    def recording_handle(run, kind, payload):
        nonlocal outline
        handle(run, kind, payload)
        if kind == "progress":
            seen.add(run.stage)
            outline = outline or panel_outline(importlib.import_module(ADDON))  # drawn while the run is live

    jobs._handle = recording_handle
    deadline = time.monotonic() + timeout
    try:
        while clip_name in jobs.RUNS:
            assert time.monotonic() < deadline, "the run did not end"
            jobs.drain()
            run, _ = jobs.view(clip_name)
            if run is not None:
                seen.add(run.stage)
            time.sleep(0.05)
    finally:
        jobs._handle = handle
    return {"message": jobs.view(clip_name)[1], "stages": sorted(seen), "outline_running": outline}


def add_marker(clip, name: str, clip_frame: int, x: float, y: float) -> None:
    """A selected marker at internal pixel (x, y) (origin top-left)."""
    width, height = clip.size
    track = clip.tracking.objects.active.tracks.new(name=name, frame=clip_frame)
    track.markers.find_frame(clip_frame).co = (x / width, 1.0 - y / height)
    track.select = True


class OutlineLayout:
    """Stands in for bpy's UILayout (which only exists while Blender draws a window): records what the panel's
    real draw() puts where, as an indented text outline."""

    def __init__(self, lines: list[str], depth: int = 0) -> None:
        self.lines, self.depth = lines, depth

    def _add(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def _nest(self, kind: str) -> "OutlineLayout":
        self._add(kind)
        return OutlineLayout(self.lines, self.depth + 1)

    def row(self, align: bool = False) -> "OutlineLayout":
        return self._nest("row")

    def column(self, align: bool = False) -> "OutlineLayout":
        return self._nest("column")

    def box(self) -> "OutlineLayout":
        return self._nest("box")

    def prop(self, data, name: str, text: str | None = None, **_) -> None:
        label = data.bl_rna.properties[name].name if text is None else text
        value = getattr(data, name)
        self._add(f"[{label}: {getattr(value, 'name', value)}]" if label else f"[{getattr(value, 'name', value)}]")

    def operator(self, idname: str, text: str = "", icon: str = "") -> SimpleNamespace:
        module, name = idname.split(".")
        self._add(f"<{text or getattr(getattr(bpy.ops, module), name).get_rna_type().name}>")
        return SimpleNamespace()

    def label(self, text: str = "", icon: str = "") -> None:
        self._add(text)


def panel_outline(addon) -> list[str]:
    lines: list[str] = []
    addon.panel.CLIP_PT_omnivfx.draw(SimpleNamespace(layout=OutlineLayout(lines)), bpy.context)
    return lines


def dump_tracks(clip) -> dict:
    return {
        t.name: [[m.frame, m.co[0], m.co[1], m.mute] for m in t.markers]
        for t in clip.tracking.objects.active.tracks
    }


def main(zip_path: str, first_file: str, endpoint: str, dead_endpoint: str, out_path: str, long_plate: str,
         exr_first_file: str) -> None:
    out_dir = os.path.dirname(out_path)
    bpy.ops.wm.read_factory_settings(use_empty=False)
    done = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
    assert done == {"FINISHED"}, done
    jobs = importlib.import_module(ADDON + ".jobs")
    report: dict = {"addon_file": importlib.import_module(ADDON).__file__}
    scene = bpy.context.scene
    clip = bpy.data.movieclips.load(first_file)
    scene.active_clip = clip
    clip.frame_start = 101  # scene frame 101 shows clip frame 1
    scene.frame_current = 103  # clip frame 3
    settings = scene.omnivfx
    settings.address = endpoint
    settings.tracker = "chained-flow"
    settings.preset = "preview"

    add_marker(clip, "corner", 3, 20.5, 20.5)
    add_marker(clip, "edge", 3, 58.5, 30.5)
    add_marker(clip, "centre", 3, 32.5, 40.5)
    add_marker(clip, "low", 3, 12.5, 52.5)
    add_marker(clip, "unselected", 3, 40.5, 12.5)
    clip.tracking.objects.active.tracks["unselected"].select = False

    assert bpy.ops.omnivfx.check_daemon() == {"FINISHED"}
    deadline = time.monotonic() + 10
    while jobs.DAEMON_STATUS[endpoint] == "Checking...":
        assert time.monotonic() < deadline
        jobs.drain()
        time.sleep(0.05)
    report["check"] = jobs.DAEMON_STATUS[endpoint]
    trackers, why = jobs.tracker_menu_for(endpoint)
    properties = importlib.import_module(ADDON + ".properties")
    try:
        settings.preset = "volumetric"  # an omnimotion preset: Blender refuses it for chained-flow
        refused = ""
    except TypeError as exc:
        refused = str(exc)
    report["menu"] = {"why": why, "trackers": trackers, "refused": refused,
                      "tracker_items": [item[0] for item in properties.tracker_items(settings, bpy.context)],
                      "preset_items": [item[0] for item in properties.preset_items(settings, bpy.context)]}

    def press(mode: str) -> dict:
        assert bpy.ops.omnivfx.track(mode=mode) == {"FINISHED"}
        job_id = jobs.RUNS[clip.name].job_id
        return {"job_id": job_id, **pump(jobs, clip.name), "tracks": dump_tracks(clip)}

    settings.frames_from = "INLINE"
    settings.grid_size = 3
    report["grid"] = press("GRID")

    for track in clip.tracking.objects.active.tracks:  # the grid run left its tracks selected
        track.select = track.name in ("corner", "edge", "centre", "low")
    settings.frames_from = "PATH"
    settings.plane_track = True
    settings.fit_minutes = 2.5
    report["markers"] = press("MARKERS")
    settings.fit_minutes = 0.0
    planes = clip.tracking.objects.active.plane_tracks
    report["plane"] = {p.name: [[m.frame, [list(c) for c in m.corners]] for m in p.markers] for p in planes}

    report["outline_done"] = panel_outline(importlib.import_module(ADDON))
    # a job without `out` writes <folder>_<plate name> in $OMNIVFX_RESULTS, which tests/daemon_support.py sets to
    # <jobs folder's parent>/omnivfx, the plate's parent here (unset, it would be <jobs folder>/<job id>/results)
    results_dir = os.path.join(os.path.dirname(os.path.dirname(first_file)), "omnivfx", "plate_plate")
    shutil.copy(os.path.join(results_dir, "tracks.npz"), os.path.join(out_dir, "markers_tracks.npz"))
    with open(os.path.join(results_dir, "manifest.json")) as handle:
        report["markers_job"] = json.load(handle)["config"]["job"]

    settings.plane_track = False
    settings.frames_from = "INLINE"
    report["rerun"] = press("MARKERS")

    omnivfx = os.path.join(os.path.dirname(sys.executable), "omnivfx")
    subprocess.run([omnivfx, "export", results_dir, "--format", "mattes", "--ref-frame", "1003", "--matte-samples", "1",
                    "--region-polygon", "16,16 48,16 48,48 16,48"], check=True, capture_output=True, timeout=120)
    settings.frames_from = "PATH"
    settings.load_matte = True
    report["matte_run"] = press("MARKERS")
    matte = bpy.data.images.get("OmniVFX matte")
    report["matte"] = {"filepath": matte.filepath, "source": matte.source, "is_data": matte.colorspace_settings.is_data}
    settings.load_matte = False

    width, height = clip.size
    mask = bpy.data.masks.new("roof")
    spline = mask.layers.new().splines.new()
    spline.points.add(4 - len(spline.points))
    for point, (x, y) in zip(spline.points, [(16, 16), (48, 16), (48, 48), (16, 48)]):
        point.co = (x / width, 1.0 - y / height)
    settings.region_mask = mask
    settings.region_spacing = 16.0
    settings.frames_from = "INLINE"
    report["region"] = press("REGION")

    settings.region_mask = None
    notes = bpy.data.grease_pencils.new("Annotations")
    clip.grease_pencil = notes
    stroke = notes.layers.new("Note").frames.new(2).strokes.new()
    stroke.points.add(4)
    for point, (x, y) in zip(stroke.points, [(8, 8), (40, 8), (40, 40), (8, 40)]):
        point.co = (x, height - y, 0.0)  # clip pixels, origin bottom-left
    report["annotation"] = press("REGION")

    # Frame offset 2: clip frame 1 shows plate.1003.png and clip frames 7-8 show files that do not exist.
    clip.frame_offset = 2
    scene.frame_current = 101  # clip frame 1
    for track in clip.tracking.objects.active.tracks:
        track.select = False
    add_marker(clip, "offset_probe", 1, 30.5, 20.5)
    settings.frames_from = "PATH"
    report["offset"] = press("MARKERS")
    shutil.copy(os.path.join(results_dir, "tracks.npz"), os.path.join(out_dir, "offset_tracks.npz"))
    clip.frame_offset = 0

    # Cancel: the job waits behind a longer one (the daemon runs one job at a time) and the artist cancels it.
    client_module = importlib.import_module(ADDON + ".vendor.omnimotion_vfx.client")
    with client_module.Client(endpoint) as client:
        blocker = client.submit(long_plate, grid=2, tracker="chained-flow")
        assert bpy.ops.omnivfx.track(mode="MARKERS") == {"FINISHED"}
        job_id = jobs.RUNS[clip.name].job_id
        assert bpy.ops.omnivfx.cancel() == {"FINISHED"}
        report["cancel"] = {"job_id": job_id, **pump(jobs, clip.name)}
        report["cancel"]["state"] = next(j["state"] for j in client.list_jobs() if j["job_id"] == job_id)
        client.cancel(blocker)

    # A float EXR clip sent frame by frame goes as float16 (scene-linear).
    exr_clip = bpy.data.movieclips.load(exr_first_file)
    scene.active_clip = exr_clip
    scene.frame_current = exr_clip.frame_start
    settings.frames_from = "INLINE"
    settings.grid_size = 2
    assert bpy.ops.omnivfx.track(mode="GRID") == {"FINISHED"}
    job_id = jobs.RUNS[exr_clip.name].job_id
    report["exr"] = {"job_id": job_id, **pump(jobs, exr_clip.name)}
    scene.active_clip = clip
    scene.frame_current = 103

    settings.address = dead_endpoint
    started = time.monotonic()
    report["down"] = {**press("MARKERS"), "seconds": time.monotonic() - started}

    with open(out_path, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(*sys.argv[1:8])
