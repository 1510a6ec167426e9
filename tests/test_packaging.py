"""The installed package matches the source tree: every package listed, `cli/` only as `omnivfx_cli`."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _package_folders(top: str, installed_as: str) -> set[str]:
    found = set()
    for init in (ROOT / top).rglob("__init__.py"):
        relative = init.parent.relative_to(ROOT / top)
        if "__pycache__" in relative.parts:
            continue
        found.add(".".join((installed_as, *relative.parts)))
    return found


def test_every_package_folder_is_listed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    folders = _package_folders("omnimotion_vfx", "omnimotion_vfx") | _package_folders("cli", "omnivfx_cli")
    assert folders - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - folders == set(), "listed packages without an __init__.py folder"


def test_cli_is_installed_as_omnivfx_cli_only():
    config = _pyproject()
    assert config["tool"]["setuptools"]["package-dir"]["omnivfx_cli"] == "cli"
    assert "cli" not in config["tool"]["setuptools"]["packages"]
    assert config["project"]["scripts"]["omnivfx"] == "omnivfx_cli.main:main"
    # run outside the source tree so the checkout's own cli/ folder is not on sys.path
    probe = "import importlib.util as u; print(u.find_spec('cli') is None, u.find_spec('omnivfx_cli') is not None)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd="/", env=dict(os.environ, PYTHONPATH=""))
    assert result.stdout.split() == ["True", "True"], result.stderr


def test_console_script_exists_and_runs():
    script = Path(sys.executable).parent / "omnivfx"
    assert script.is_file() and os.access(script, os.X_OK)
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0 and result.stdout.startswith("omnivfx, version ")
    help_text = subprocess.run([str(script), "track", "--help"], capture_output=True, text=True).stdout
    for option in ("--frames", "--queries", "--grid", "--out", "--preset", "--device", "--json-progress", "--proxy", "--layer", "--colorspace"):
        assert option in help_text
