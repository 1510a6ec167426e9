"""`omnivfx pin`: put a graphic on a tracked surface, held out where the surface is hidden."""

from __future__ import annotations

import json

import click

from .errors import handle_errors
from .job_options import job_fields, job_options
from .signals import stop_on_signals

EPILOG_PIN = """\b
Corners are plate pixels at the --at frame, origin at the top-left corner, y down,
in the order top-left, top-right, bottom-right, bottom-left of the graphic.
\b
Examples:
  omnivfx pin plate.%04d.exr --graphic logo.png --at 1001 --corners 410,220,690,240,680,400,405,380 --out pin/logo.%04d.exr
  omnivfx pin plate.%04d.exr --graphic patch.%04d.exr --at 1010 --mask wall_1010.png --mode mesh --out pin/patch.####.exr --over
  omnivfx pin plate.mp4 --graphic sign.png --at 1 --corners 10,10,90,10,90,60,10,60 --stmap pin/stmap

\b
Outputs (scene-linear float EXR): R,G,B,A the graphic premultiplied and held out, holdout.Y the holdout matte;
with --over R,G,B the composite over the plate and the graphic in pin.R/G/B/A; --stmap DIR writes
DIR/stmap.####.exr (R=u, G=v, A=coverage, holdout.Y) for Nuke's STMap node.
Exit codes: 0 done, 1 internal error, 2 bad input, 3 interrupted (run again: the tracker fit is reused)."""


@click.command(epilog=EPILOG_PIN)
@click.argument("plate")
@click.option("--graphic", required=True, help="Image or frame pattern to pin (PNG/TIFF: sRGB, straight alpha; EXR: linear, premultiplied).")
@click.option("--at", "at_frame", type=int, required=True, help="Reference frame (plate frame number) where the corners/mask are given.")
@click.option("--corners", help="x1,y1,...,x4,y4: top-left, top-right, bottom-right, bottom-left, plate pixels, top-left origin.")
@click.option("--mask", type=click.Path(dir_okay=False), help="Region to track at --at (white on black, plate size); alone, it places the graphic on its bounding box and shapes it.")
@click.option("--mode", type=click.Choice(["planar", "mesh"]), default="planar", show_default=True, help="planar: one homography per frame; mesh: a grid that bends with the surface.")
@click.option("--out", help="Output EXR frame pattern, e.g. pin/logo.%04d.exr or pin/logo.####.exr.")
@click.option("--over", is_flag=True, help="Write the composite over the plate in R,G,B (the graphic moves to the pin.* layer).")
@click.option("--stmap", "stmap_dir", type=click.Path(file_okay=False), help="Folder for an STMap sequence of the graphic.")
@job_options("pin")
@click.option("--results", "results_dir", type=click.Path(file_okay=False), help="Tracker results/cache folder (default <plate folder>/omnivfx/<name>/).")
@click.option("--json-progress", is_flag=True, help="Progress as one JSON object per line on stdout.")
@handle_errors
def pin(plate, graphic, at_frame, corners, mask, mode, out, over, stmap_dir, results_dir, json_progress, **options):
    """Pin a graphic onto a surface of PLATE and carry it with the tracked motion, held out where occluded."""
    from omnimotion_vfx.errors import InputError
    from omnimotion_vfx.io import open_plate
    from omnimotion_vfx.pin.graphic import GraphicSource, read_mask
    from omnimotion_vfx.pin.pipeline import PinOutputs, PlateFrames, run_pin
    from omnimotion_vfx.pin.region import make_placement, parse_corners
    from omnimotion_vfx.pin.solve import solve_pin
    from omnimotion_vfx.progress import JsonLinesProgress, TqdmProgress
    from omnimotion_vfx.tracking.job import TrackJob, fit_job

    if out is None and stmap_dir is None:
        raise InputError("nothing to write: give --out pin/name.%04d.exr and/or --stmap DIR")
    if over and out is None:
        raise InputError("--over writes into --out; give --out pin/comp.%04d.exr")
    quad = parse_corners(corners) if corners else None
    region = read_mask(mask) if mask else None
    source = GraphicSource(graphic)
    progress = JsonLinesProgress() if json_progress else TqdmProgress()
    job = TrackJob(plate=plate, out=results_dir, grid_frame=at_frame, **job_fields(options))
    with stop_on_signals() as stop:
        plate_obj = open_plate(plate, job.frames, job.layer, job.colorspace)
        placement = make_placement(at_frame, plate_obj.full_size, quad, region)
        if at_frame not in plate_obj.frame_numbers:
            raise InputError(f"--at {at_frame} is not a frame of the plate ({plate_obj.frame_numbers[0]}-{plate_obj.frame_numbers[-1]})")
        fitted, _ = fit_job(job, progress, stop)
        solve = solve_pin(fitted.motion(progress=progress, stop=stop), fitted.frame_numbers, placement, source.size, stop=stop)
        report = run_pin(solve, source, PinOutputs(out, over, stmap_dir), mode, PlateFrames(plate_obj) if over else None, progress, stop)
    held = [f for f in solve.frames if solve.fits[f].held]
    low = min(solve.fits[f].visible_fraction for f in solve.frames)
    if json_progress:
        click.echo(json.dumps({"result": {"written": report.written, "seconds_per_frame": report.seconds_per_frame, "held_frames": held}}))
        return
    click.echo(f"pinned {len(report.frames)} frames ({mode}), {report.seconds_per_frame:.3f} s/frame; least visible: {low:.0%} of the surface")
    if held:
        click.echo(f"held the last good motion on {len(held)} frame(s) with too little visible surface: {held[0]}..{held[-1]}", err=True)
    click.echo(f"wrote {report.written[0]} .. {report.written[-1]}")
