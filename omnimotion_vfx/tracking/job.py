"""One tracking job from plate to results folder: the unit the CLI, the daemon and the batch runner share.

A `TrackJob` is plain data (JSON-serialisable: it is also the farm job spec of `omnivfx track --job`), declared
with the schema every edge reads in job_schema.py and re-exported here with DEFAULT_TRACKER.
`fit_job` reads the plate, resolves the queries and builds the tracker (omnimotion_vfx/job_runner.py takes it
from there to the results folder and exports);
`load_fitted` rebuilds the fitted clip of a results folder (dense exports, pins, more queries) without refitting:
it is the one reader of a folder's fit for export, pin and the daemon. The manifest records the job and the
engine overrides (`OMNIVFX_ENGINE_OVERRIDES`) the fit used; a reload takes both from there, not from the
environment or the command line, and fails (`StaleFit`) rather than train over the folder's fit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..clip_geometry import ClipGeometry
from ..errors import InputError, StaleFit
from ..flow.cache import plate_hash
from ..io import Plate, open_plate
from ..io.queries import Queries, check_queries, grid_queries, read_queries_csv, to_top_left
from ..progress import NullProgress, ProgressReporter, StopToken
from ..results.folder import MANIFEST_FILE, TrackResults, build_manifest, load_results
from ..results.location import default_results_dir, ensure_writable, resolve_plate
from ..results.work_cache import WORK_DIR
from .job_schema import DEFAULT_TRACKER, TrackJob  # noqa: F401  (re-exported)
from .registry import TrackerContext, build_tracker, environment_overrides, tracker_names, tracker_presets

if TYPE_CHECKING:
    from ..motion.plate_motion import PlateMotion

ENGINE_CHECKPOINT = "engine/checkpoint.pt"  # under work/: engine_builder's work/engine holding the engine's checkpoint.pt
READ_ONLY_RELOAD = ("a reload writes the flow cache and motion field of dense exports and pins there: copy the folder "
                    "somewhere writable, or export track formats only")


def resolve_queries(job: TrackJob, frame_numbers: list[int], size: tuple[int, int]) -> Queries:
    given = [job.queries is not None, job.grid is not None, job.query_points is not None]
    if sum(given) > 1:
        raise InputError("give only one of --queries, --grid or inline query points")
    if job.queries is not None:
        return read_queries_csv(job.queries, frame_numbers, size, job.origin)
    if job.query_points is not None:
        points = np.asarray(job.query_points, np.float32).reshape(-1, 3)
        if len(points) == 0:
            raise InputError("the job has an empty query list; send at least one (frame, x, y)")
        points = to_top_left(points, size[1], job.origin)
        check_queries(points, frame_numbers, size)
        names = job.query_names or [f"track{i + 1:04d}" for i in range(len(points))]
        return Queries(points, list(names))
    frame = job.grid_frame if job.grid_frame is not None else frame_numbers[0]
    if frame not in frame_numbers:
        raise InputError(f"grid frame {frame} is outside the plate's frames {frame_numbers[0]}-{frame_numbers[-1]}")
    return grid_queries(job.grid if job.grid is not None else 10, frame, size)


def results_dir_for(job: TrackJob, plate_source: str, plate_name: str) -> Path:
    return Path(job.out) if job.out else default_results_dir(plate_source, plate_name)


@dataclass
class FittedJob:
    """A plate with its fitted tracker: answers more queries without refitting (the daemon keeps these warm)."""

    job: TrackJob
    tracker: Any
    tracker_config: dict[str, Any]
    frame_numbers: list[int]
    full_size: tuple[int, int]
    processing_size: tuple[int, int]
    plate_source: str
    colour: str
    out_dir: Path
    timings: dict[str, float]
    plate_digest: str = ""  # hash of the pixels the tracker saw: the stored motion field is only reused for them
    overrides: dict[str, Any] = field(default_factory=dict)  # the dotted engine overrides the fit used (manifest)
    _seeded: Any = field(default=None, repr=False)

    def motion(self, answered: TrackResults | None = None, progress: ProgressReporter | None = None,
               stop: StopToken | None = None) -> "PlateMotion":
        """The clip's motion field, which every dense product and pin reads: seeded once by the tracker and kept
        in <results>/work/motion (reloaded, not re-seeded, by `load_fitted`), with the `answered` query tracks
        joined so the dense products agree with them. Each call returns a field of its own."""
        from ..motion.build import clip_motion, field_fingerprint
        from ..motion.config import MotionConfig
        from ..motion.field import MotionField
        from ..motion.plate_motion import PlateMotion

        if self._seeded is None:
            config = MotionConfig(**self.tracker_config.get("motion", {}))
            # The fit summary's seconds are not a setting, but which fit seeded the field is: a changed checkpoint
            # (a continued or new fit) re-seeds it.
            settings = {k: v for k, v in self.tracker_config.items() if k != "fit"}
            settings["fit_id"] = self.tracker_config.get("fit", {}).get("fit_id")
            fingerprint = field_fingerprint({"plate": self.plate_digest, "tracker": self.job.tracker,
                                             "settings": settings, "processing": list(self.processing_size)})
            self._seeded = clip_motion(self.tracker, self.tracker.geometry, config, fingerprint,
                                       self.out_dir / "work" / "motion", self.tracker.device, progress, stop)
        seeded = self._seeded.field
        plate = PlateMotion(MotionField(seeded.nodes, seeded.size, seeded.adjacent, seeded.config, seeded.device),
                            self._seeded.geometry)
        if answered is not None:
            plate.add_tracks(answered.query_points, answered.tracks, answered.visible)
        return plate

    def answer(self, points: np.ndarray, names: list[str] | None = None, progress: ProgressReporter | None = None,
               stop: StopToken | None = None) -> TrackResults:
        """Track `points` (frame, x, y) in plate frames and pixels; returns results with a full manifest, reporting
        the "queries" stage to `progress`."""
        points = np.asarray(points, np.float32).reshape(-1, 3)
        check_queries(points, self.frame_numbers, self.full_size)
        t0 = time.monotonic()
        tracks, visible = answer_with_progress(self.tracker, points, progress, stop)
        timings = dict(self.timings, query=time.monotonic() - t0)
        timings["total"] = sum(v for k, v in timings.items() if k != "total")
        manifest = build_manifest(
            plate=self.plate_source,
            frames=np.asarray(self.frame_numbers),
            resolution=self.full_size,
            tracker=self.job.tracker,
            preset=self.job.preset,
            config={
                "tracker": self.tracker_config,
                "job": {k: v for k, v in self.job.to_dict().items() if k not in ("query_points", "query_names")},
                "overrides": self.overrides,
            },
            timings=timings,
            extra={
                "processing_resolution": list(self.processing_size),
                "proxy": self.job.proxy,
                "layer": self.job.layer,
                "colour": self.colour,
            },
        )
        return TrackResults(np.asarray(self.frame_numbers), points, tracks, visible, names or [], manifest)


def answer_with_progress(tracker: Any, points: np.ndarray, progress: ProgressReporter | None = None,
                         stop: StopToken | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`tracker(points)` as the "queries" stage: step counts the points' share of the work done (the tracker
    reports the fraction it has done; its queries are answered in one call, since re-acquisition shares a
    query frame's supports between its points), and a stop request ends it between two of those reports."""
    progress = progress or NullProgress()
    total = len(points)
    progress.begin("queries", total)

    def done(fraction: float) -> None:
        if stop is not None:
            stop.raise_if_requested("while answering the queries")
        progress.update(int(round(min(max(fraction, 0.0), 1.0) * total)))

    tracks, visible = tracker(points, progress=done)
    progress.end()
    return tracks, visible


def fit_job(job: TrackJob, progress: ProgressReporter | None = None, stop: StopToken | None = None) -> tuple[FittedJob, Queries]:
    """Read the plate, resolve the queries and fit (or reload from the results folder) the tracker. The job
    keeps the plate's absolute path, so the manifest's job reloads from any working directory."""
    check_tracker_preset(job)
    job = dataclasses.replace(job, plate=os.path.abspath(job.plate))
    t0 = time.monotonic()
    plate = open_plate(job.plate, job.frames, job.layer, job.colorspace, job.proxy)
    queries = resolve_queries(job, plate.frame_numbers, plate.full_size)  # bad queries fail before a long read
    return _fit_plate(job, plate, t0, progress, stop, environment_overrides()), queries


def recorded_job(results_dir: str | Path) -> tuple[TrackJob, dict[str, Any] | None]:
    """The job a results folder was tracked with (its `out` set to the folder, wherever it is now; its queries
    dropped, they are answered already) and the engine overrides the fit used (None in folders written before
    they were recorded)."""
    results_dir = Path(results_dir)
    manifest = load_results(results_dir).manifest
    config = manifest.get("config", {})
    job_dict = dict(config.get("job") or {})
    if not job_dict:
        raise InputError(f"{results_dir}/manifest.json holds no job; re-run `omnivfx track` to export dense formats")
    for key in ("queries", "grid", "grid_frame"):
        job_dict.pop(key, None)
    job_dict["out"] = str(results_dir)  # caches and checkpoints live in the results folder, wherever it is now
    job_dict["plate"] = resolve_plate(manifest, results_dir)  # the plate may have moved with the folder
    overrides = config.get("overrides")
    return TrackJob.from_dict(job_dict, source=f"{results_dir}/manifest.json"), overrides if isinstance(overrides, dict) else None


def load_fitted(results_dir: str | Path, progress: ProgressReporter | None = None, stop: StopToken | None = None,
                device: str | None = None) -> FittedJob:
    """The fitted clip behind a results folder, rebuilt from its recorded job and engine overrides (not today's
    environment): the engine checkpoint and motion field there are re-used, so nothing refits; the flow is read
    from work/flow when the track kept it (--keep-cache), else recomputed there. `device` only changes where it
    runs.

    Never trains: where the folder holds no finished fit of those settings (work/ deleted or not copied, the
    plate's pixels changed, the checkpoint replaced) this is one InputError saying so, because a silent refit
    would take the fit's full time and give dense outputs that disagree with the folder's tracks. A missing
    checkpoint is found before the plate is read or the flow computed."""
    results_dir = Path(results_dir)
    job, overrides = recorded_job(results_dir)
    if device is not None:
        job = dataclasses.replace(job, device=device)
    check_tracker_preset(job)
    checkpoint = results_dir / WORK_DIR / ENGINE_CHECKPOINT
    if _records_a_fit(results_dir) and not checkpoint.is_file():
        raise _stale(results_dir, job, f"no engine checkpoint in {checkpoint.parent}")
    ensure_writable(results_dir, READ_ONLY_RELOAD)
    t0 = time.monotonic()
    plate = open_plate(job.plate, job.frames, job.layer, job.colorspace, job.proxy)
    try:
        return _fit_plate(job, plate, t0, progress, stop, environment_overrides() if overrides is None else overrides,
                          reload_only=True)
    except StaleFit as exc:
        raise _stale(results_dir, job, str(exc)) from None


def _records_a_fit(results_dir: Path) -> bool:
    """Whether the folder's tracker was fitted (its manifest's tracker config holds the fit summary, as the
    omnimotion engine writes it): only then does a reload need a checkpoint (chained-flow has none)."""
    manifest = json.loads((results_dir / MANIFEST_FILE).read_text())  # recorded_job read it: tracks.npz need not be
    tracker_config = (manifest.get("config") or {}).get("tracker")
    return isinstance(tracker_config, dict) and "fit" in tracker_config


def _stale(results_dir: Path, job: TrackJob, why: str) -> StaleFit:
    return StaleFit(f"{results_dir} has no fit to reload ({why}); nothing was refitted. Track again into a new "
                    f"folder: omnivfx track {job.plate} --tracker {job.tracker} --preset {job.preset} --out NEW")


def check_tracker_preset(job: TrackJob) -> None:
    """Tracker and preset names fail here, before the plate's pixels are read."""
    if job.tracker not in tracker_names():
        raise InputError(f"unknown tracker {job.tracker!r}; choose one of {', '.join(tracker_names())}")
    presets = tracker_presets(job.tracker)
    if job.preset not in presets:
        raise InputError(f"--preset {job.preset} is not a preset of the {job.tracker} tracker; choose one of {', '.join(presets)}")


def _fit_plate(job: TrackJob, plate: Plate, t0: float, progress: ProgressReporter | None, stop: StopToken | None,
               overrides: dict[str, Any], reload_only: bool = False) -> FittedJob:
    """Read the opened plate (from `t0`, when opening began) and build the job's tracker on it with the engine
    `overrides`; `reload_only` takes the fit in the results folder and never trains."""
    progress = progress or NullProgress()
    stop = stop or StopToken()
    out_dir = results_dir_for(job, plate.sequence.source, plate.sequence.name)
    if not reload_only:  # a reload checked its folder (with its own advice) before opening the plate
        ensure_writable(out_dir)  # before the long read
    video = plate.load_uint8(progress)
    timings = {"read": time.monotonic() - t0}
    stop.raise_if_requested("after reading the plate")

    t1 = time.monotonic()
    geometry = ClipGeometry(tuple(plate.frame_numbers), plate.scale_xy)
    context = TrackerContext(out_dir / "work", job.preset, job.device, progress, stop, 60.0 * (job.fit_minutes or 0.0),
                             overrides, reload_only, job.deterministic)
    tracker, config = build_tracker(job.tracker, video, geometry, context)
    timings["fit"] = time.monotonic() - t1
    return FittedJob(
        job, tracker, config, plate.frame_numbers, plate.full_size, plate.size, plate.sequence.source,
        plate.converter.description, out_dir, timings, plate_hash(video), dict(overrides),
    )
