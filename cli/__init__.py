"""The `omnivfx` command (installed as the `omnivfx_cli` package)."""
