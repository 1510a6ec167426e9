"""host_bridges/build_bridges.py: a valid Blender 4.2 manifest, and a vendored client that imports and talks
with nothing but pyzmq, msgpack and numpy (no omnimotion_vfx install, no torch, no OpenCV, no OpenImageIO)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host_bridges"))
from build_bridges import build_blender, build_nuke, with_wheels  # noqa: E402

REQUIRED = {"schema_version", "id", "version", "name", "tagline", "maintainer", "type", "blender_version_min", "license"}
# What a host's Python lacks; the import of the vendored client must not need any of it.
BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'torch', 'cv2', 'OpenImageIO', 'fileseq', 'omnimotion_vfx', 'omnivfx_cli', 'click', 'bpy'}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
sys.path.insert(0, sys.argv[1])
"""


def test_manifest_has_what_blender_4_2_requires():
    manifest = tomllib.loads((ROOT / "host_bridges" / "blender" / "blender_manifest.toml").read_text())
    assert REQUIRED <= set(manifest)
    assert manifest["type"] == "add-on" and manifest["blender_version_min"] == "4.2.0"
    assert len(manifest["tagline"]) <= 64 and manifest["tagline"][-1].isalnum()
    assert all(entry.startswith("SPDX:") for entry in manifest["license"])


def test_wheels_are_listed_at_the_top_level():
    text = (ROOT / "host_bridges" / "blender" / "blender_manifest.toml").read_text()
    manifest = tomllib.loads(with_wheels(text, ["pyzmq-27.whl", "msgpack-1.whl"]))
    assert manifest["wheels"] == ["./wheels/pyzmq-27.whl", "./wheels/msgpack-1.whl"]
    assert set(manifest["permissions"]) == {"network", "files"}


def test_blender_zip_holds_the_addon_and_the_vendored_modules(tmp_path):
    with zipfile.ZipFile(build_blender(tmp_path)) as zf:
        names = set(zf.namelist())
    assert {"blender_manifest.toml", "__init__.py", "jobs.py", "vendor/omnimotion_vfx/client.py",
            "vendor/omnimotion_vfx/daemon/protocol.py", "vendor/omnimotion_vfx/exporters/blender_tracks.py"} <= names
    assert not any("__pycache__" in n for n in names)


def test_vendored_client_needs_only_zmq_msgpack_numpy(tmp_path):
    folder = build_nuke(tmp_path / "nuke")
    script = BLOCKER + """
from omnivfx_nuke.vendor.omnimotion_vfx.client import Client, DaemonUnavailable
try:
    Client("tcp://127.0.0.1:9", timeout=0.2, retries=0).status()
except DaemonUnavailable as exc:
    print("unavailable:", exc)
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'cv2', 'OpenImageIO', 'omnimotion_vfx'})
print("heavy:", heavy)
"""
    done = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "unavailable: no answer from the daemon" in done.stdout and "heavy: []" in done.stdout
