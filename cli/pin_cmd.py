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
@click.option("--results", "results_dir", type=click.Path(file_okay=False), help="Tracker results/cache folder (default as `omnivfx track`: $OMNIVFX_RESULTS or ./omnivfx).")
@click.option("--json-progress", is_flag=True, help="Progress as one JSON object per line on stdout.")
@handle_errors
def pin(plate, graphic, at_frame, corners, mask, mode, out, over, stmap_dir, results_dir, json_progress, **options):
    """Pin a graphic onto a surface of PLATE and carry it with the tracked motion, held out where occluded."""
    from omnimotion_vfx.engine_available import require_engine

    require_engine("pin")

    from omnimotion_vfx.pin.job import PinJob, run_pin_job
    from omnimotion_vfx.progress import for_terminal
    from omnimotion_vfx.progress_eta import PIN_PLAN

    fields = job_fields(options)  # only what the user gave: a results folder's own settings win over defaults
    job = PinJob(
        plate=plate, graphic=graphic, at_frame=at_frame, corners=corners, mask=mask, mode=mode, out=out, over=over,
        stmap_dir=stmap_dir, results_dir=results_dir, device=fields.pop("device", "auto"), **fields,
    )
    progress = for_terminal(json_progress, plan=PIN_PLAN)
    with stop_on_signals() as stop:
        report = run_pin_job(job, progress, stop)
    held = report.held_frames
    if json_progress:
        click.echo(json.dumps({"result": {"written": report.written, "seconds_per_frame": report.seconds_per_frame,
                                          "held_frames": held, "results_dir": report.results_dir,
                                          "reused_fit": report.reused_fit}}))
        return
    click.echo(f"pinned {len(report.frames)} frames ({mode}), {report.seconds_per_frame:.3f} s/frame; least visible: {report.least_visible:.0%} of the surface")
    if held:
        click.echo(f"held the last good motion on {len(held)} frame(s) with too little visible surface: {held[0]}..{held[-1]}", err=True)
    if report.reused_fit:
        click.echo(f"tracker: reused the fit in {report.results_dir}")
    else:
        click.echo(f"tracker: fitted and saved in {report.results_dir} (the next pin or export on it reuses the fit)")
    click.echo(f"wrote {report.written[0]} .. {report.written[-1]}")
