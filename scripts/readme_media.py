"""Regenerate the pictures of README.md and docs/when-to-trust.md with the project's own commands.

    OMNIVFX_SUITE_CACHE=/tmp/suitecache .venv/bin/python scripts/readme_media.py   # every picture
    .venv/bin/python scripts/readme_media.py --only orbit      # the sample plate's GIF and still (about 30 s)

The sample plate (samples/orbit) is tracked with `omnivfx track --preset preview` and drawn by
`omnivfx export --format qc`; its QC frames become docs/images/orbit_tracks.gif (every 2nd frame) and
orbit_tracks.png (one frame). The failure stills (docs/images/fails_*.jpg) are the same two commands on clips
with exact ground truth, with the true positions added: a white cross where the point really is, a white line
from the track to it. Fast motion comes from the planar suite's fast-256 plate (omnimotion_vfx/evaluation/
synthetic.py, written here); thin structures from the rendered development suite when its
cache holds them (`$OMNIVFX_SUITE_CACHE`, else ~/.cache/omnimotion_vfx/rendered; they are skipped, never
rendered: the suite is 22 minutes of CPU). Each still's numbers are printed, to quote them.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
ORBIT = ROOT / "samples" / "orbit"
GIF_WIDTH = 256
GIF_MAX_BYTES = 1_500_000
RENDERED_FAILURES = ("thin-poles-256",)  # docs/evaluation.md: the suite's weakest clip (cloth-shake left the list in issue 24)
OFF_PX = 4.0  # a visible point this far from the truth gets its error line
JPEG_QUALITY = 90  # the failure stills: a noisy plate doubled in size is 3-5x smaller as JPEG than as PNG


@dataclass
class GroundTruth:
    """A plate on disk with exact tracks for its query points (query frames are plate frame numbers)."""

    name: str
    plate: str
    first_frame: int
    queries: np.ndarray  # [N, 3] plate frame, x, y
    names: list[str]
    tracks: np.ndarray  # [N, T, 2]
    visible: np.ndarray  # [N, T]


def omnivfx(*args: str | Path) -> None:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    subprocess.run([sys.executable, "-m", "omnivfx_cli.main", *map(str, args)], check=True, env=env)


def track_and_qc(plate: str, queries_csv: Path, out: Path) -> Path:
    """`omnivfx track --preset preview` then `omnivfx export --format qc`; returns the qc folder."""
    omnivfx("track", plate, "--queries", queries_csv, "--out", out, "--preset", "preview")
    omnivfx("export", out, "--format", "qc")
    return out / "export" / "qc"


def write_gif(frames: list[Path], path: Path, width: int, frame_ms: int) -> None:
    animation = cv2.Animation()
    images = [cv2.imread(str(f)) for f in frames]
    height = round(images[0].shape[0] * width / images[0].shape[1])
    animation.frames = [cv2.resize(i, (width, height), interpolation=cv2.INTER_AREA) for i in images]
    animation.durations = [frame_ms] * len(images)
    animation.loop_count = 0
    if not cv2.imwriteanimation(str(path), animation):
        raise OSError(f"cannot write {path}")
    if path.stat().st_size > GIF_MAX_BYTES:
        raise SystemExit(f"{path} is {path.stat().st_size} bytes, over {GIF_MAX_BYTES}: use fewer frames")


def orbit_media(work: Path) -> None:
    qc = track_and_qc(str(ORBIT / "orbit.%04d.png"), ORBIT / "points.csv", work / "orbit")
    frames = sorted(qc.glob("qc.*.png"))
    write_gif(frames[::2], IMAGES / "orbit_tracks.gif", GIF_WIDTH, frame_ms=2 * 1000 // 24)
    shutil.copyfile(qc / "qc.1020.png", IMAGES / "orbit_tracks.png")
    print(f"orbit: {len(frames[::2])} GIF frames, {(IMAGES / 'orbit_tracks.gif').stat().st_size} bytes")


def cached_rendered(name: str) -> GroundTruth | None:
    """A rendered suite clip if its cache folder is complete; never renders."""
    from omnimotion_vfx.evaluation.rendered.cache import clip_folder
    from omnimotion_vfx.evaluation.suite import clips_matching

    folder = clip_folder(clips_matching("rendered", name)[0])
    if not (folder / "done.json").is_file():
        return None
    with np.load(folder / "truth.npz") as truth:
        picked, tracks = truth["picked_frame"], truth["tracks"]
        objects = [f"{truth['object_names'][o]}" for o in truth["object"]]
        names = [f"{'bg' if bg else obj}_{n:02d}" for n, (bg, obj) in enumerate(zip(truth["background"], objects))]
        rows = np.arange(len(picked))
        queries = np.column_stack([picked + 1, tracks[rows, picked]])
        return GroundTruth(name, str(folder / "frames" / "%04d.jpg"), 1, queries, names, tracks, truth["visible"])


def synthetic_fast(work: Path) -> GroundTruth:
    """The planar suite's fast-motion clip (fast-256), written as PNGs, 24 points picked on its first frame."""
    from omnimotion_vfx.evaluation.plate_writer import write_plate
    from omnimotion_vfx.evaluation.suite import clips_matching
    from omnimotion_vfx.evaluation.synthetic import build_scene, render, sample_points

    spec = clips_matching("standard", "fast-256")[0]
    scene = build_scene(spec.params)
    points = sample_points(scene, 24, seed=0, frame=0)
    folder = work / "fast-256-plate"
    write_plate(render(scene), folder, "plate.%04d.png", first_frame=1)
    queries = points.queries.copy()
    queries[:, 0] += 1
    names = [f"{'bg' if layer == 0 else f'obj{layer}'}_{n:02d}" for n, layer in enumerate(points.layers)]
    return GroundTruth("fast-256", str(folder / "plate.%04d.png"), 1, queries, names, points.tracks, points.visible)


def failure_still(clip: GroundTruth, work: Path) -> None:
    """Track the clip, draw its QC overlay, add the truth at the frame where most visible points are off."""
    out = work / clip.name
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "points.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame", "x", "y", "name"])
        for (frame, x, y), name in zip(clip.queries, clip.names):
            writer.writerow([int(frame), f"{x:.3f}", f"{y:.3f}", name])
    qc = track_and_qc(clip.plate, out / "points.csv", out / "results")
    with np.load(out / "results" / "tracks.npz") as result:
        tracks, visible = result["tracks"], result["visible"]
    error = np.linalg.norm(tracks - clip.tracks, axis=2)
    off = (error > OFF_PX) & clip.visible
    t = int(np.argmax(off.sum(0) + 1e-3 * np.arange(off.shape[1])))  # the latest of the worst frames
    frame = clip.first_frame + t
    image = cv2.imread(str(qc / f"qc.{frame:04d}.png"))
    scale = 2 if image.shape[1] <= 480 else 1  # small clips doubled so the error lines show
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    for n in np.nonzero(off[:, t])[0]:
        p, q = (tracks[n, t] * scale).round().astype(int), (clip.tracks[n, t] * scale).round().astype(int)
        cv2.line(image, tuple(p), tuple(q), (255, 255, 255), 1, cv2.LINE_AA)
        cv2.drawMarker(image, tuple(q), (255, 255, 255), cv2.MARKER_CROSS, 6 * scale, 1 + scale // 2)
    path = IMAGES / f"fails_{clip.name}.jpg"
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    seen = clip.visible.sum()
    print(f"{clip.name}: frame {frame}; all frames: median error {np.median(error[clip.visible]):.1f} px over "
          f"{seen} visible positions, {100 * off.sum() / seen:.0f}% over {OFF_PX:g} px, visibility right "
          f"{100 * np.mean(visible == clip.visible):.0f}%; at frame {frame}: {off[:, t].sum()} of "
          f"{clip.visible[:, t].sum()} visible points over {OFF_PX:g} px, median "
          f"{np.median(error[clip.visible[:, t], t]):.1f} px -> {path.relative_to(ROOT)}")


def main() -> None:
    pictures = ("orbit", "fast-256", *RENDERED_FAILURES)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(pictures), help=f"comma-separated subset of {', '.join(pictures)}")
    parser.add_argument("--work", type=Path, help="keep the results folders here (default: a temporary folder)")
    args = parser.parse_args()
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in pictures]
    if unknown:
        parser.error(f"unknown picture {', '.join(unknown)}; choose from {', '.join(pictures)}")
    IMAGES.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="omnivfx-media-"))
    try:
        if "orbit" in wanted:
            orbit_media(work)
        if "fast-256" in wanted:
            failure_still(synthetic_fast(work), work)
        for name in (n for n in RENDERED_FAILURES if n in wanted):
            clip = cached_rendered(name)
            if clip is None:
                print(f"{name}: not in the suite cache; skipped (set OMNIVFX_SUITE_CACHE)")
            else:
                failure_still(clip, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
