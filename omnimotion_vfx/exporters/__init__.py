"""Write host formats from a results folder (Nuke, 3DEqualizer, Blender, CSV/JSON, EXR mattes and motion, QC).

No torch here: track formats read tracks.npz; dense formats (mattes, motion, stmap) take the fitted tracker's
`map_points` callable, which the CLI rebuilds from the results folder.
"""

from .registry import DENSE_FORMATS, FORMATS, ExportOptions, export_results, parse_formats

__all__ = ["DENSE_FORMATS", "FORMATS", "ExportOptions", "export_results", "parse_formats"]
