"""The tracking job: run presets, the fused OmniMotion tracker and its builder."""
