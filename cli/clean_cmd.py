"""`omnivfx clean RESULTS [--all] [--dry-run]`: free the disk space a results folder's work/ folder holds."""

from __future__ import annotations

import click

from .errors import handle_errors

EPILOG = """\b
Examples:
  omnivfx clean omnivfx/sh010_plate --dry-run     what work/ holds, what a clean would free
  omnivfx clean omnivfx/sh010_plate               remove the flow cache (recomputed when needed)
  omnivfx clean omnivfx/sh010_plate --all         also the engine checkpoint and motion field (the fit is gone: dense exports and pins then stop and ask for a new track)"""


@click.command(epilog=EPILOG)
@click.argument("results", type=click.Path(file_okay=False))
@click.option("--all", "everything", is_flag=True, help="Also remove the engine checkpoint and the motion field.")
@click.option("--dry-run", is_flag=True, help="Only print the sizes: what work/ holds and what would be freed.")
@handle_errors
def clean(results, everything, dry_run):
    """Remove the flow cache of RESULTS (an `omnivfx track` results folder); tracks and exports stay."""
    from omnimotion_vfx.results import load_results
    from omnimotion_vfx.results.work_cache import WORK_DIR, clean_work, folder_bytes, human_bytes

    load_results(results)  # a wrong folder is an InputError, not an empty clean
    held = folder_bytes(f"{results}/{WORK_DIR}")
    freed = clean_work(results, everything, dry_run)
    for part, size in freed.items():
        click.echo(f"{'would remove' if dry_run else 'removed'} {part} ({human_bytes(size)})")
    total = sum(freed.values())
    if dry_run:
        click.echo(f"would free {human_bytes(total)} of the {human_bytes(held)} in {results}/{WORK_DIR}")
    else:
        click.echo(f"freed {human_bytes(total)}; {results}/{WORK_DIR} now holds {human_bytes(held - total)}")
