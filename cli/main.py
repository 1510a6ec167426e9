"""`omnivfx`: track plates headless, inspect plates, export results, serve host bridges."""

from __future__ import annotations

import json
import os
import sys

import click

from omnimotion_vfx import __version__

from .errors import handle_errors
from .signals import stop_on_signals

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

EPILOG_TRACK = """\b
Examples:
  omnivfx track shots/sh010/plate.%04d.exr --queries points.csv
  omnivfx track plate.####.exr --frames 1001-1048 --grid 16 --proxy 0.5
  omnivfx track plate.mp4 --grid 8 --json-progress
Exit codes: 0 done, 1 internal error, 2 bad input, 3 interrupted (run again to resume).
stdout: the results folder; with --json-progress, JSON lines ending with {"result": FOLDER}."""


class OneLineErrorsGroup(click.Group):
    """Usage errors (unknown option, bad number) as one line and exit 2, like every other bad input."""

    def main(self, *args, **kwargs):  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("omnivfx: interrupted", err=True)
            sys.exit(3)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `omnivfx`: the help, not an error
            click.echo(exc.format_message())
            sys.exit(0)
        except click.ClickException as exc:
            click.echo(f"omnivfx: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrorsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="omnivfx")
def main() -> None:
    """Dense point tracking through occlusions for VFX plates (OmniMotion)."""


def _progress(json_progress: bool, export: bool = False):
    """JSON lines on stdout for farm wrappers; a bar on stderr at a terminal, a few plain lines in a log."""
    from omnimotion_vfx.progress import for_terminal
    from omnimotion_vfx.progress_eta import TRACK_EXPORT_PLAN, TRACK_PLAN

    return for_terminal(json_progress, plan=TRACK_EXPORT_PLAN if export else TRACK_PLAN)


@main.command(epilog=EPILOG_TRACK)
@click.argument("plate", required=False)
@click.option("--frames", help="Frame range to use, e.g. 1001-1100 (file frame numbers).")
@click.option("--queries", "queries", type=click.Path(dir_okay=False), help="CSV with header frame,x,y[,name].")
@click.option("--grid", type=int, help="Track an N x N grid of points instead of --queries.")
@click.option("--grid-frame", type=int, help="Plate frame of the grid (default: first frame).")
@click.option("--out", type=click.Path(file_okay=False), help="Results folder (default $OMNIVFX_RESULTS/<folder>_<name>, else ./omnivfx/<folder>_<name>).")
@click.option("--tracker", default=None, help="Tracker: omnimotion (default) or chained-flow (seconds; docs/cli.md).")
@click.option("--preset", default="default", show_default=True, help="Engine preset: default, preview, volumetric, fast, paper (docs/engine.md).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--layer", help="EXR layer to track, e.g. 'beauty' (RGB channels by default).")
@click.option("--colorspace", help="Plate colour space: SPACE (with $OCIO), CONFIG.ocio:SPACE or ocio://default:ACEScg (docs/colour.md).")
@click.option("--proxy", type=float, default=1.0, show_default=True, help="Process at this fraction of the resolution.")
@click.option("--fit-minutes", type=float, help="Deadline: end the engine's fit after this many minutes of fitting (docs/cli.md).")
@click.option("--json-progress", is_flag=True, help='Progress as JSON lines on stdout, then {"result": FOLDER}.')
@click.option("--job", "job_spec", type=click.Path(dir_okay=False), help="Run a JSON job spec (farm use).")
@click.option("--export", "export_formats", help="Then export, e.g. nuke,3de,blender (see `omnivfx export --help`).")
@click.option("--keep-cache", is_flag=True, help="Keep the flow cache (RESULTS/work/flow) after success (see `omnivfx clean`).")
@handle_errors
def track(plate, frames, queries, grid, grid_frame, out, tracker, preset, device, layer, colorspace, proxy, fit_minutes,
          json_progress, job_spec, export_formats, keep_cache):
    """Track points through PLATE (a frame pattern, a folder of frames or a video file)."""
    from omnimotion_vfx.errors import InputError
    from omnimotion_vfx.engine_available import require_engine

    require_engine("track")
    from omnimotion_vfx.results import write_results
    from omnimotion_vfx.results.work_cache import finish_work
    from omnimotion_vfx.tracking.job import DEFAULT_TRACKER, TrackJob, fit_job

    if job_spec:
        job = TrackJob.from_json_file(job_spec)
    else:
        if not plate:
            raise InputError("missing PLATE; e.g. omnivfx track plate.%04d.exr --queries points.csv")
        job = TrackJob(
            plate=plate, frames=frames, queries=queries, grid=grid, grid_frame=grid_frame, out=out,
            tracker=tracker or DEFAULT_TRACKER, preset=preset, device=device, layer=layer,
            colorspace=colorspace, proxy=proxy, fit_minutes=fit_minutes, keep_cache=keep_cache,
        )
    progress = _progress(json_progress, bool(export_formats))
    with stop_on_signals() as stop:
        fitted, queries = fit_job(job, progress, stop)
        folder = write_results(fitted.out_dir, fitted.answer(queries.points, queries.names, progress, stop))
        if export_formats:
            from .export_cmd import run_export

            run_export(folder, export_formats, progress, stop, fitted=fitted)
        finish_work(folder, job.keep_cache)
    folder = folder.resolve()
    click.echo(json.dumps({"result": str(folder)}) if json_progress else str(folder))


@main.command()
@click.argument("plate")
@click.option("--frames", help="Frame range to inspect, e.g. 1001-1100.")
@handle_errors
def info(plate, frames):
    """Show what PLATE holds: frames, range, gaps, resolution, channels and layers."""
    from omnimotion_vfx.io.plate_info import describe_plate

    click.echo(describe_plate(plate, frames))


from .batch_cmd import batch  # noqa: E402

main.add_command(batch)

from .export_cmd import export  # noqa: E402

main.add_command(export)

from .serve_cmd import serve  # noqa: E402
main.add_command(serve)
from .submit_cmd import submit  # noqa: E402
main.add_command(submit)
from .status_cmd import status  # noqa: E402
main.add_command(status)
from .keys_cmd import keys  # noqa: E402
main.add_command(keys)

from .pin_cmd import pin  # noqa: E402
main.add_command(pin)
from .clean_cmd import clean  # noqa: E402
main.add_command(clean)

if __name__ == "__main__":
    main()
