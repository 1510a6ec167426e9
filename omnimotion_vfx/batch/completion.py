"""Is a shot already finished with the same settings? The test that makes batch runs idempotent.

A results folder is complete once manifest.json exists (write_results writes it last, atomically). It counts
as this job's result only if the manifest's `config.job` equals the job, less the settings that do not change the
tracks (`RUN_ONLY_FIELDS`), and the stored query points equal the job's queries (a points.csv edited in place keeps
its path, so the path alone proves nothing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import open_plate
from ..results.folder import MANIFEST_FILE, load_results
from ..results.location import absolute_job_paths
from ..tracking.job import TrackJob, resolve_queries, results_dir_for
from ..tracking.job_schema import JOB_FIELDS

INLINE_QUERY_FIELDS = ("query_points", "query_names")
# What to do after the track (export, keep the flow cache) and where it runs (the engine's checkpoint leaves the
# device out of its fingerprint, so any device reloads the same fit): changing these never re-tracks a shot.
RUN_ONLY_FIELDS = ("export", "keep_cache", "device")


def job_settings(job: TrackJob) -> dict[str, Any]:
    """The job as recorded in a manifest's `config.job`: paths absolute, inline queries left to tracks.npz."""
    return absolute_job_paths({k: v for k, v in job.to_dict().items() if k not in INLINE_QUERY_FIELDS})


def finished_results(job: TrackJob) -> Path | None:
    """The job's results folder if it is complete and was made by the same settings, else None.

    Raises InputError when the plate or the queries are bad, so a bad shot fails before any work.
    """
    plate = open_plate(job.plate, job.frames, job.layer, job.colorspace, job.proxy)
    out_dir = results_dir_for(job, plate.sequence.source, plate.sequence.name)
    queries = resolve_queries(job, plate.frame_numbers, plate.full_size)
    manifest_path = out_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        return None
    try:
        recorded = json.loads(manifest_path.read_text()).get("config", {}).get("job")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(recorded, dict):
        return None
    # a field added since the manifest was written ran at its default (e.g. `deterministic`): not a new setting
    recorded = {**{name: spec.default for name, spec in JOB_FIELDS.items() if name not in INLINE_QUERY_FIELDS}, **recorded}
    if _fit_settings(recorded) != _fit_settings(json.loads(json.dumps(job_settings(job)))):
        return None  # compared as JSON sees it (tuples -> lists)
    try:
        results = load_results(out_dir)
    except InputError:
        return None
    if results.query_points.shape != queries.points.shape or not np.array_equal(results.query_points, queries.points):
        return None
    if list(results.frames) != list(plate.frame_numbers):
        return None
    return out_dir


def _fit_settings(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in RUN_ONLY_FIELDS}
