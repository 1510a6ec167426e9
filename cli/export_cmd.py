"""`omnivfx export RESULTS --format ...`: write host formats from a results folder (omnimotion_vfx/exporters/
folder_export.py does the work; dense formats rebuild the fitted tracker from the folder's caches)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import click

from .errors import handle_errors
from .signals import stop_on_signals

EPILOG = """\b
Formats: tracks (= nuke, nuke-ascii, 3de, csv, json, blender), nuke, cornerpin, nuke-ascii, 3de, csv, json,
blender, mattes, motion, stmap, qc. Output goes to RESULTS/export/ unless --out is given.
\b
Examples:
  omnivfx export omnivfx/sh010_plate --format nuke,3de,blender
  omnivfx export RESULTS --format cornerpin --corners track0001,track0002,track0003,track0004
  omnivfx export RESULTS --format stmap,motion --ref-frame 1001
  omnivfx export RESULTS --format mattes --region-polygon '100,80 300,80 300,240 100,240' --ref-frame 1010
  omnivfx export RESULTS --format qc --qc-fps 25"""


@click.command(epilog=EPILOG)
@click.argument("results", type=click.Path(file_okay=False))
@click.option("--format", "formats", multiple=True, required=True, help="Format(s), comma separated or repeated.")
@click.option("--out", type=click.Path(file_okay=False), help="Export folder (default RESULTS/export).")
@click.option("--ref-frame", type=int, help="Reference plate frame: STMap target, matte region frame, CornerPin from.")
@click.option("--corners", help="Four track names for the CornerPin2D (any order; sorted into BL, BR, TR, TL).")
@click.option("--region-polygon", help="Matte region 'x,y x,y x,y' in pixels (origin top-left) at --ref-frame.")
@click.option("--region-mask", type=click.Path(dir_okay=False), help="Matte region as a mask image at --ref-frame.")
@click.option("--half", is_flag=True, help="Store motion vectors and mattes as half floats (STMaps stay float32).")
@click.option("--compression", type=click.Choice(["zip", "zips", "piz", "rle", "b44", "none"]), default="zip",
              show_default=True)
@click.option("--matte-samples", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Sub-pixel samples per axis for anti-aliased matte edges.")
@click.option("--3de-first-frame", "threede_first_frame", type=int, default=1, show_default=True,
              help="3DEqualizer frame number of the plate's first frame.")
@click.option("--qc-format", "qc_image_format", type=click.Choice(["png", "jpg"]), default="png", show_default=True)
@click.option("--qc-fps", help="QC movie frame rate (25, 23.976, 24000/1001); default: the plate's own, else 24.")
@click.option("--json-progress", is_flag=True, help="Progress as one JSON object per line on stdout.")
@handle_errors
def export(results, formats, out, ref_frame, corners, region_polygon, region_mask, half, compression, matte_samples,
           threede_first_frame, qc_image_format, qc_fps, json_progress):
    """Write RESULTS (an `omnivfx track` results folder) in formats Nuke, Blender and 3DEqualizer read."""
    from omnimotion_vfx.exporters.folder_export import export_folder
    from omnimotion_vfx.progress import for_terminal
    from omnimotion_vfx.progress_eta import EXPORT_PLAN

    qc_rate = _frame_rate(qc_fps) if qc_fps is not None else None
    progress = for_terminal(json_progress, plan=EXPORT_PLAN)
    with stop_on_signals() as stop:
        written = export_folder(
            results, formats, progress, stop, out=out, reference_frame=ref_frame,
            corners=[c.strip() for c in corners.split(",")] if corners else None, region_polygon=region_polygon,
            region_mask=region_mask, half=half, compression=compression, matte_samples=matte_samples,
            threede_first_frame=threede_first_frame, qc_image_format=qc_image_format, qc_fps=qc_rate,
        )
    for name, paths in written.items():
        folder = Path(paths[0]).parent if paths else "-"
        click.echo(f"{name}: {len(paths)} file(s) in {folder}", err=json_progress)


def _frame_rate(text: str) -> Fraction:
    """--qc-fps text -> a rational rate, or a one-line error."""
    from omnimotion_vfx.errors import InputError
    from omnimotion_vfx.io.frame_rate import parse_frame_rate

    try:
        return parse_frame_rate(text)
    except (ValueError, ZeroDivisionError) as error:
        raise InputError(f"--qc-fps {text!r}: {error}; give e.g. 25, 23.976 or 24000/1001") from None
