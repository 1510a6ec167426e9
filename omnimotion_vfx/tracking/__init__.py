"""The tracking job: a plate, queries and settings -> a fitted clip -> a results folder (job.py), the tracker
registry (registry.py, builtin.py), and the OmniMotion tracker's run presets and builder (presets.py,
engine_builder.py, fused_tracker.py: those load torch, so they are imported only where used).
"""

from .job import DEFAULT_TRACKER, FittedJob, TrackJob, fit_job, load_fitted, run_track_job
from .registry import PointTracker, TrackerContext, build_tracker, register_tracker, tracker_names

__all__ = ["DEFAULT_TRACKER", "FittedJob", "PointTracker", "TrackJob", "TrackerContext", "build_tracker", "fit_job",
           "load_fitted", "register_tracker", "run_track_job", "tracker_names"]
