"""QC overlay from a real PNG plate: image sequence, mp4 and contact sheet; visible points filled, occluded
points hollow, each in its own colour."""

from __future__ import annotations

import cv2
import numpy as np

from export_synthetic import GroundTruthTracker, results_for
from omnimotion_vfx.exporters import ExportOptions, export_results
from omnimotion_vfx.exporters.qc_overlay import track_colours

QUERIES = np.array([[1001, 30.0, 30.0], [1001, 80.0, 50.0]], np.float32)


def test_qc_overlay_outputs(tmp_path):
    tracker = GroundTruthTracker(width=160, height=96)
    plate = tracker.write_plate(tmp_path / "plate")
    results = results_for(tracker, QUERIES, ["wall", "far"], plate=plate)
    written = export_results(results, ["qc"], ExportOptions(out=tmp_path / "export"))["qc"]
    folder = tmp_path / "export" / "qc"
    assert [p.name for p in written] == [f"qc.{f}.png" for f in tracker.frames] + ["qc.mp4", "contact_sheet.png"]

    colours = track_colours(2)
    for t, frame in enumerate(tracker.frames):
        image = cv2.imread(str(folder / f"qc.{frame}.png"))
        assert image.shape == (96, 160, 3)
        x, y = np.round(results.tracks[0, t] - 0.5).astype(int)
        centre = image[y, x].astype(int)
        is_colour = np.abs(centre - colours[0]).max() < 40
        assert is_colour == bool(results.visible[0, t]), f"frame {frame}: filled only where visible"
    assert not results.visible[0].all() and results.visible[0].any()

    video = cv2.VideoCapture(str(folder / "qc.mp4"))
    count = 0
    while video.read()[0]:
        count += 1
    video.release()
    assert count == len(tracker.frames)
    sheet = cv2.imread(str(folder / "contact_sheet.png"))
    assert sheet.shape[1] > 3 * 160 and sheet.shape[0] > 2 * 96
