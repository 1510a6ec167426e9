"""The results folder (tracks.npz + manifest.json and dense products): writing atomically, loading, validating."""

from .folder import RESULTS_FORMAT_VERSION, TrackResults, load_results, write_results
from .location import default_results_dir, ensure_writable, resolve_plate

__all__ = ["RESULTS_FORMAT_VERSION", "TrackResults", "load_results", "write_results", "default_results_dir",
           "ensure_writable", "resolve_plate"]
