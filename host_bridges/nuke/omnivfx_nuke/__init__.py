"""OmniMotion VFX tracker panel for Nuke: the thin bridge to the `omnivfx serve` daemon (docs/bridges.md).

plate_pattern, tcl_list and knob_math are plain Python (no nuke import) so they are tested directly;
panel and nodes talk to Nuke. The client is vendored into `vendor/` by host_bridges/build_bridges.py.
"""
