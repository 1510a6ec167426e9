"""The generated Blender script run in real bpy: tracks and markers created in a movie clip loaded from a
1001-based PNG sequence, read back and compared with tracks.npz; re-running updates the same tracks."""

from __future__ import annotations

import numpy as np
import pytest

from export_synthetic import GroundTruthTracker, results_for
from omnimotion_vfx.exporters.blender_script import blender_script

bpy = pytest.importorskip("bpy")

QUERIES = np.array([[1001, 12.0, 22.0], [1001, 30.0, 30.0], [1003, 80.5, 10.25]], np.float32)


def run_script(text: str) -> None:
    exec(compile(text, "tracks.py", "exec"), {"__name__": "__main__"})


def test_blender_script_writes_markers(tmp_path):
    tracker = GroundTruthTracker()
    plate = tracker.write_plate(tmp_path / "plate")
    results = results_for(tracker, QUERIES, ["square", "wall", "late"], plate=plate)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    clip = bpy.data.movieclips.load(str(tmp_path / "plate" / "plate.1001.png"))
    bpy.context.scene.active_clip = clip
    width, height = clip.size
    assert (width, height) == tracker.size

    script = blender_script(results)
    run_script(script)
    run_script(script)  # a second run must update, not duplicate

    tracks = clip.tracking.objects.active.tracks
    assert sorted(t.name for t in tracks) == ["late", "square", "wall"]
    for n, name in enumerate(results.names):
        track = tracks[name]
        assert len(track.markers) == len(results.frames)
        for t, frame in enumerate(results.frames):
            marker = track.markers.find_frame(int(frame) - 1000, exact=True)  # plate 1001 is clip frame 1
            assert marker is not None
            x, y = marker.co[0] * width, (1 - marker.co[1]) * height
            np.testing.assert_allclose([x, y], results.tracks[n, t], atol=2e-3)
            assert marker.mute == (not results.visible[n, t])
    assert any(m.mute for m in tracks["wall"].markers), "the occluded stretch must be muted markers"


def test_blender_script_respects_frame_offset(tmp_path):
    tracker = GroundTruthTracker(frames=range(1001, 1004))
    plate = tracker.write_plate(tmp_path / "plate")
    results = results_for(tracker, QUERIES[:1], ["square"], plate=plate)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    clip = bpy.data.movieclips.load(str(tmp_path / "plate" / "plate.1001.png"))
    clip.frame_offset = 1  # clip frame 1 now shows plate frame 1002
    bpy.context.scene.active_clip = clip
    run_script(blender_script(results))
    frames = sorted(m.frame for m in clip.tracking.objects.active.tracks["square"].markers)
    assert frames == [0, 1, 2]


def test_blender_script_loads_the_plate_when_no_clip_is_open(tmp_path):
    """As `blender --python tracks.py` on an empty scene: the script loads the plate's first frame itself."""
    import subprocess
    import sys

    tracker = GroundTruthTracker(frames=range(1001, 1004))
    plate = tracker.write_plate(tmp_path / "plate")
    results = results_for(tracker, QUERIES[:2], ["square", "wall"], plate=plate)
    script = tmp_path / "tracks.py"
    script.write_text(blender_script(results, str(tmp_path / "plate" / "plate.1001.png")))
    check = ("exec(compile(open(%r).read(), 'tracks.py', 'exec'))\nimport bpy\nclip = bpy.data.movieclips[0]\n"
             "print(sorted(t.name for t in clip.tracking.objects.active.tracks), len(clip.tracking.tracks[0].markers))")
    done = subprocess.run([sys.executable, "-c", check % str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "['square', 'wall'] 3" in done.stdout
