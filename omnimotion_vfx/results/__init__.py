"""The results folder (tracks.npz + manifest.json and dense products): writing atomically, loading, validating."""

from .folder import RESULTS_FORMAT_VERSION, TrackResults, load_results, write_results, default_results_dir

__all__ = ["RESULTS_FORMAT_VERSION", "TrackResults", "load_results", "write_results", "default_results_dir"]
