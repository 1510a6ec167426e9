"""`omnivfx info`: what an artist checks before tracking a plate (frames, gaps, size, channels, layers)."""

from __future__ import annotations

import os

from .image_reader import read_info
from .sequence import frames_text, scan_frames


def describe_plate(path: str, frames: str | None = None) -> str:
    """A short multi-line report; gaps are listed instead of failing, since finding them is what info is for."""
    scan = scan_frames(path, frames)
    found = sorted(f for f in scan.wanted if f in scan.present)
    missing = scan.missing
    lines = [
        f"plate:      {scan.source}",
        f"frames:     {len(found)} found ({frames_text(found) if found else 'none'})",
        f"range:      {scan.wanted[0]}-{scan.wanted[-1]}",
        f"gaps:       {f'{frames_text(missing)} ({len(missing)} missing)' if missing else 'none'}",
    ]
    if not found:
        return "\n".join(lines)
    if scan.is_video:
        import cv2

        cap = cv2.VideoCapture(path)
        lines.append(f"resolution: {int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}")
        lines.append(f"fps:        {cap.get(cv2.CAP_PROP_FPS):g}")
        cap.release()
        return "\n".join(lines)
    first = scan.present[found[0]]
    info = read_info(first)
    lines += [
        f"resolution: {info.width}x{info.height}",
        f"channels:   {', '.join(info.channels)}",
        f"layers:     {', '.join(info.layers) or 'none'}",
        f"pixels:     {info.pixel_type} ({'scene-linear' if info.scene_linear else 'display-referred'})",
    ]
    if info.data_window != info.display_window:
        lines.append(f"windows:    data {_window(info.data_window)}, display {_window(info.display_window)}")
    lines.append(f"first file: {os.path.basename(first)}")
    return "\n".join(lines)


def _window(window: tuple[int, int, int, int]) -> str:
    x, y, w, h = window
    return f"{w}x{h} at ({x}, {y})"
