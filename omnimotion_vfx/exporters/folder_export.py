"""Export a results folder: the body of `omnivfx export`, also run after a track by `omnivfx track --export` and
by the daemon for a submitted job's `export` field (it holds the fitted clip, so dense formats do not refit).

Track formats read tracks.npz only. Dense formats (mattes, motion, stmap) read the clip's motion field with the
folder's query tracks joined, so vectors, STMaps and mattes agree with the tracks; without a `fitted` clip,
`load_fitted` rebuilds it from the job stored in the manifest, re-using the checkpoint and motion field in the
folder (the flow is recomputed when `omnivfx track` removed its cache, and removed again afterwards unless the
track was run with --keep-cache).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from ..progress import ProgressReporter, StopToken
from .registry import DENSE_FORMATS, ExportOptions, check_options, export_results, parse_formats

NEEDS_OPTIONS = {"mattes": "--region-polygon 'x,y x,y x,y' --ref-frame FRAME"}


def check_track_export(formats: str) -> list[str]:
    """The formats of a job's `export` field, checked before any tracking: unknown names, and formats that need
    options only `omnivfx export` takes, fail at once with the command to run after the track."""
    names = parse_formats(formats)
    for name in names:
        if name in NEEDS_OPTIONS:
            raise InputError(f"--export {name} needs a region, which track does not take: track without it, then run "
                             f"`omnivfx export RESULTS --format {name} {NEEDS_OPTIONS[name]}`")
    return names


def export_folder(results_dir: str | Path, formats: str | tuple[str, ...], progress: ProgressReporter | None = None,
                  stop: StopToken | None = None, out: str | Path | None = None, fitted: Any = None,
                  **options: Any) -> dict[str, list[Path]]:
    """Write `formats` of a results folder into `out` (default RESULTS/export); returns the paths per format.
    `fitted` is the clip just fitted for the folder, when the caller has it."""
    from ..engine_available import require_engine
    from ..results import load_results

    names = parse_formats(formats)
    dense = [name for name in names if name in DENSE_FORMATS]
    if dense:
        require_engine(f"export --format {','.join(dense)}")
    results = load_results(results_dir)
    export_options = ExportOptions(out=Path(out) if out else Path(results_dir) / "export", **options)
    check_options(results, names, export_options)
    map_points, reloaded = None, None
    if dense:
        from ..tracking.job import load_fitted

        reloaded = None if fitted else load_fitted(results_dir, progress, stop)
        map_points = (fitted or reloaded).motion(results, progress, stop).map_points
    written = export_results(results, names, export_options, map_points, progress, stop)
    if reloaded is not None:  # the reload recomputed the flow cache; drop it again unless the track kept it
        from ..results.work_cache import finish_work

        finish_work(results_dir, reloaded.job.keep_cache)
    return written
