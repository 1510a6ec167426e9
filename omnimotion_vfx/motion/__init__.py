"""The clip's one motion representation (field.py): every output (query tracks' dense counterparts, motion
vectors, STMaps, mattes, pins) reads it. Import the modules directly; this package loads no torch on import."""
