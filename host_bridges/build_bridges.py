"""Build the host bridges: the Blender 4.2 extension zip and the Nuke plug-in folder.

Neither host has omnimotion_vfx installed (and must never import torch), so each build copies the thin client
(`omnimotion_vfx/client.py` and the few standard-library-only modules it imports) into the bridge as
`<bridge>/vendor/omnimotion_vfx/`. The Blender build also copies `exporters/blender_tracks.py`, which writes the
markers, so the add-on and `omnivfx export --format blender` share one implementation.

    python host_bridges/build_bridges.py blender [--out dist] [--wheels DIR]
    python host_bridges/build_bridges.py nuke [--out dist/omnivfx_nuke]

`--wheels DIR`: every `.whl` in DIR (pyzmq, msgpack for the artist's platform and Blender's Python 3.11) is put
into the zip and listed in the manifest's `wheels`, so Blender installs them with the extension.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent / "omnimotion_vfx"
# The client's import closure (checked by tests/test_bridge_build.py in a process that blocks every other module).
CLIENT_FILES = ("__init__.py", "client.py", "errors.py", "daemon/__init__.py", "daemon/protocol.py", "daemon/keys.py",
                "tracking/job_schema.py")
BLENDER_FILES = CLIENT_FILES + ("exporters/blender_tracks.py",)
# The real exporters/__init__.py imports every writer (OpenCV, OpenImageIO); the vendored package needs none.
EXPORTERS_INIT = '"""The Blender marker writer only (vendored into the host bridge)."""\n'
# The real tracking/__init__.py names the job runner and the registry (numpy, OpenCV); the client needs the schema.
TRACKING_INIT = '"""The job schema only (vendored into the host bridge)."""\n'
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor")


def vendor_client(destination: Path, files: tuple[str, ...]) -> Path:
    """Copy the client's modules into `destination/omnimotion_vfx/`, keeping their relative imports working."""
    root = destination / "omnimotion_vfx"
    for name in files:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE / name, target)
    if "exporters/blender_tracks.py" in files:
        (root / "exporters" / "__init__.py").write_text(EXPORTERS_INIT)
    (root / "tracking" / "__init__.py").write_text(TRACKING_INIT)
    (destination / "__init__.py").write_text('"""Modules copied from omnimotion_vfx by host_bridges/build_bridges.py."""\n')
    return root


def manifest_version(manifest: str) -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', manifest, re.MULTILINE)
    if match is None:
        raise SystemExit("host_bridges/blender/blender_manifest.toml has no version")
    return match.group(1)


def with_wheels(manifest: str, wheels: list[str]) -> str:
    """Add a top-level `wheels = [...]` (before the first table, where TOML top-level keys must stand)."""
    line = "wheels = [" + ", ".join(f'"./wheels/{name}"' for name in wheels) + "]\n"
    head, sep, tail = manifest.partition("\n[")
    return head.rstrip("\n") + "\n" + line + (sep + tail if sep else "")


def build_blender(out: Path, wheels_dir: Path | None = None) -> Path:
    """The extension zip for `blender --command extension install-file` (or Preferences > Get Extensions >
    Install from Disk); its files sit at the zip's root as Blender expects."""
    stage = out / "omnivfx_blender"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(HERE / "blender", stage, ignore=IGNORED)
    vendor_client(stage / "vendor", BLENDER_FILES)
    manifest = (stage / "blender_manifest.toml").read_text()
    if wheels_dir is not None:
        wheels = sorted(p.name for p in wheels_dir.glob("*.whl"))
        if not wheels:
            raise SystemExit(f"no .whl files in {wheels_dir}")
        (stage / "wheels").mkdir()
        for name in wheels:
            shutil.copyfile(wheels_dir / name, stage / "wheels" / name)
        manifest = with_wheels(manifest, wheels)
        (stage / "blender_manifest.toml").write_text(manifest)
    archive = out / f"omnivfx_blender-{manifest_version(manifest)}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(stage).as_posix())
    return archive


def build_nuke(out: Path) -> Path:
    """A folder to put on NUKE_PATH: menu.py, the omnivfx_nuke package and its vendored client."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(HERE / "nuke", out, ignore=IGNORED)
    vendor_client(out / "omnivfx_nuke" / "vendor", CLIENT_FILES)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="host", required=True)
    blender = sub.add_parser("blender", help="build the Blender extension zip")
    blender.add_argument("--out", type=Path, default=HERE.parent / "dist")
    blender.add_argument("--wheels", type=Path, help="folder of pyzmq/msgpack wheels to bundle")
    nuke = sub.add_parser("nuke", help="build the Nuke plug-in folder")
    nuke.add_argument("--out", type=Path, default=HERE.parent / "dist" / "omnivfx_nuke")
    args = parser.parse_args(argv)
    if args.host == "blender":
        args.out.mkdir(parents=True, exist_ok=True)
        print(build_blender(args.out, args.wheels))
    else:
        print(build_nuke(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
