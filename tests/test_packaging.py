"""The installed package matches the source tree (every package listed, `cli/` only as `omnivfx_cli`), and an
install without the `engine` extra (no torch) exports track formats and refuses engine commands in one line."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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


# --- installs without the engine extra (no torch): export-only render nodes --------------------------------

# `omnivfx ARGS` in a fresh interpreter where `import torch` fails as on an install without the extra.
WITHOUT_TORCH = "import sys; sys.modules['torch'] = None; sys.argv[0] = 'omnivfx'; from omnivfx_cli.main import main; main()"
TRACK_FORMATS = ("nuke", "3de", "csv", "json", "blender")


def _engine_missing_line(command: str) -> str:
    return f"omnivfx: error: omnivfx {command} needs the tracking engine (torch): pip install 'omnimotion-vfx[engine]'"


def _omnivfx_without_torch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMNIVFX_LOG_DIR=str(cwd))
    return subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def _results_folder(folder: Path, plate: str) -> Path:
    """A results folder as `omnivfx track` leaves it (two tracks over the plate's four frames), no tracking."""
    import numpy as np

    from omnimotion_vfx.results.folder import TrackResults, build_manifest, write_results

    frames = np.arange(1001, 1005)
    steps = np.arange(4)[:, None] * [2.0, 1.0]
    tracks = np.stack([steps + [10, 12], steps + [40, 32]])  # [N=2, T=4, 2]
    manifest = build_manifest(plate=plate, frames=frames, resolution=(96, 64), tracker="omnimotion", preset="default",
                              config={}, timings={})
    results = TrackResults(frames=frames, query_points=[[1001, 10, 12], [1001, 40, 32]], tracks=tracks,
                           visible=np.ones((2, 4), bool), manifest=manifest)
    return write_results(folder, results)


@pytest.fixture
def plate_and_results(tmp_path: Path) -> tuple[str, Path]:
    from plate_factory import write_plate

    plate = write_plate(tmp_path / "shot", count=4)
    return plate, _results_folder(tmp_path / "results", plate)


def test_export_only_commands_run_without_torch(tmp_path, plate_and_results):
    plate, results = plate_and_results
    info = _omnivfx_without_torch("info", plate, cwd=tmp_path)
    assert info.returncode == 0 and "resolution: 96x64" in info.stdout, info.stderr
    export = _omnivfx_without_torch("export", str(results), "--format", ",".join(TRACK_FORMATS), cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    written = {p.relative_to(results / "export").as_posix() for p in (results / "export").rglob("*") if p.is_file()}
    assert written == {"nuke/tracks.nk", "3de/points.txt", "tracks.csv", "tracks.json", "blender/tracks.py"}
    for args in (["--help"], ["status", "--help"], ["submit", "--help"], ["track", "--help"]):
        shown = _omnivfx_without_torch(*args, cwd=tmp_path)
        assert shown.returncode == 0 and shown.stdout.startswith("Usage: "), (args, shown.stderr)
    keys = _omnivfx_without_torch("keys", str(tmp_path / "keys"), cwd=tmp_path)
    assert keys.returncode == 0 and (tmp_path / "keys" / "server.key_secret").is_file(), keys.stderr


@pytest.mark.parametrize("args, command", [
    (["track", "{plate}", "--grid", "2"], "track"),
    (["export", "{results}", "--format", "motion"], "export --format motion"),
    (["export", "{results}", "--format", "tracks,stmap"], "export --format stmap"),
    (["pin", "{plate}", "--graphic", "{plate}", "--at", "1001"], "pin"),
    (["batch", "shots.toml"], "batch"),
    (["serve", "--bind", "ipc://{tmp}/daemon.sock", "--jobs-dir", "{tmp}/jobs"], "serve"),
])
def test_engine_commands_say_in_one_line_that_torch_is_missing(tmp_path, plate_and_results, args, command):
    plate, results = plate_and_results
    argv = [a.format(plate=plate, results=results, tmp=tmp_path) for a in args]
    result = _omnivfx_without_torch(*argv, cwd=tmp_path)
    assert (result.returncode, result.stderr.splitlines(), result.stdout) == (2, [_engine_missing_line(command)], "")
    assert not (results / "export").exists() and not list(tmp_path.glob("omnivfx-crash-*"))


def test_torch_free_packages_import_without_torch():
    """results/, exporters/, io/, the client and every CLI module load on an install without the engine."""
    import pkgutil

    import omnimotion_vfx.exporters
    import omnimotion_vfx.io
    import omnimotion_vfx.results

    modules = ["omnimotion_vfx.client", "omnimotion_vfx.daemon.protocol", "omnimotion_vfx.daemon.keys"]
    for package in (omnimotion_vfx.results, omnimotion_vfx.exporters, omnimotion_vfx.io):
        modules += [info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    modules += [f"omnivfx_cli.{path.stem}" for path in sorted((ROOT / "cli").glob("*.py")) if path.stem != "__init__"]
    probe = "import importlib, sys; sys.modules['torch'] = None\nfor name in sys.argv[1:]: importlib.import_module(name)"
    result = subprocess.run([sys.executable, "-c", probe, *modules], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1]
    assert len(modules) > 20


def test_a_missing_torch_without_require_engine_is_still_one_line(tmp_path, monkeypatch, capsys):
    """The CLI's error handler maps torch's ModuleNotFoundError to the same line (exit 2); other missing modules
    stay internal errors with a log."""
    from omnivfx_cli.errors import handle_errors

    monkeypatch.setenv("OMNIVFX_LOG_DIR", str(tmp_path))

    def make(missing: str):
        def pin():
            raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)
        return handle_errors(pin)

    with pytest.raises(SystemExit) as torch_missing:
        make("torch.nn")()
    assert (torch_missing.value.code, capsys.readouterr().err.splitlines()) == (2, [_engine_missing_line("pin")])
    with pytest.raises(SystemExit) as other_missing:
        make("scipy")()
    assert other_missing.value.code == 1 and "internal error: ModuleNotFoundError" in capsys.readouterr().err


def test_torch_is_the_engine_extra_and_the_tests_install_it():
    project = _pyproject()["project"]
    assert not [d for d in project["dependencies"] if d.split(">")[0].split("=")[0].strip().lower() == "torch"]
    assert project["optional-dependencies"]["engine"] == ["torch>=2.4"]
    assert "omnimotion-vfx[engine]" in project["optional-dependencies"]["test"]
    assert project["requires-python"] == ">=3.11"  # tomllib reads TOML shot lists (omnimotion_vfx/batch/shot_list.py)


def _package_index_problem(pip: Path, folder: Path) -> str | None:
    """Why pip cannot fetch the build backend and a dependency (one quick try, no retries), or None when it can."""
    command = [str(pip), "download", "-q", "--no-deps", "--retries", "0", "--timeout", "10", "--dest", str(folder), "setuptools", "click"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "no answer within 60 s"
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["exit status %d" % done.returncode])[-1]


@pytest.mark.slow
def test_a_real_install_without_the_engine_extra_exports_and_refuses_to_track(tmp_path, plate_and_results):
    """`pip install .` into a fresh venv (no torch there), as on an export-only render node; 25-40 s on 2 CPU cores.
    The install fetches the build backend and the dependencies, so it is skipped where no package index answers."""
    plate, results = plate_and_results
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("omnimotion_vfx", "cli"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    unreachable = _package_index_problem(venv / "bin" / "pip", tmp_path / "probe")
    if unreachable:
        pytest.skip(f"no package index to install from (pip download setuptools click: {unreachable})")
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(source)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import torch"], capture_output=True).returncode != 0

    def omnivfx(*args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run([str(venv / "bin" / "omnivfx"), *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)

    exported = omnivfx("export", str(results), "--format", ",".join(TRACK_FORMATS), "--out", str(tmp_path / "out"))
    assert exported.returncode == 0 and (tmp_path / "out" / "nuke" / "tracks.nk").is_file(), exported.stderr
    assert omnivfx("info", plate).returncode == 0
    for args, command in ((["track", plate, "--grid", "2"], "track"), (["export", str(results), "--format", "motion"], "export --format motion")):
        refused = omnivfx(*args)
        assert (refused.returncode, refused.stderr.splitlines()) == (2, [_engine_missing_line(command)])


def test_code_run_by_nuke_parses_on_python_3_9():
    """The package needs 3.11 (tomllib), but the Nuke bridge and the client modules it vendors run in Nuke's own
    Python (Nuke 14: 3.9, Nuke 15: 3.10): no syntax newer than 3.9 there (no match, except*, PEP 695)."""
    import ast

    sys.path.insert(0, str(ROOT / "host_bridges"))
    try:
        from build_bridges import CLIENT_FILES
    finally:
        sys.path.remove(str(ROOT / "host_bridges"))
    files = [ROOT / "omnimotion_vfx" / name for name in CLIENT_FILES] + sorted((ROOT / "host_bridges" / "nuke").rglob("*.py"))
    for path in files:
        ast.parse(path.read_text(), str(path), feature_version=(3, 9))
    assert len(files) > len(CLIENT_FILES)


def _python_3_9() -> str | None:
    """A working Python 3.9 (Nuke 14's version): python3.9 on PATH or a pyenv install; a pyenv shim for a version
    not selected is on PATH but fails, so each candidate is asked for its version."""
    candidates = [shutil.which("python3.9"), *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python")))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 9)":
            return candidate
    return None


# Stand-ins for what Nuke's Python has but a bare 3.9 may lack (pyzmq, msgpack, Nuke's own modules): they sit at
# the end of sys.path, so installed modules win, and answer any attribute with a class, enough for import time.
HOST_STUBS = ("zmq/__init__.py", "zmq/auth.py", "msgpack/__init__.py", "nuke.py", "nukescripts.py")
IMPORT_ON_3_9 = """
import json, sys
sys.path.insert(0, sys.argv[1]); sys.path.append(sys.argv[2])
import importlib
for name in sys.argv[3:]:
    importlib.import_module(name)
from omnivfx_nuke.vendor.omnimotion_vfx.errors import InputError
from omnivfx_nuke.vendor.omnimotion_vfx.tracking.job_schema import check_job_fields, job_schema
check_job_fields({"plate": "plate.%04d.exr", "grid": 4, "fit_minutes": 2.5})
try:
    check_job_fields({"plate": "plate.%04d.exr", "grid": "four"})
except InputError as exc:
    print("refused:", exc)
print(json.dumps(job_schema()))
"""


def test_the_nuke_bridge_and_its_vendored_client_import_on_python_3_9(tmp_path):
    """Importing, not only parsing: annotations like `str | None` that something evaluates at import time (dataclass
    field types read with typing.get_type_hints) fail on 3.9 although they parse."""
    python = _python_3_9()
    if python is None:
        pytest.skip("no working Python 3.9 here (python3.9 on PATH or ~/.pyenv/versions/3.9*) to import the Nuke bridge with")
    sys.path.insert(0, str(ROOT / "host_bridges"))
    try:
        from build_bridges import CLIENT_FILES, build_nuke
    finally:
        sys.path.remove(str(ROOT / "host_bridges"))
    from omnimotion_vfx.tracking.job_schema import job_schema

    folder = build_nuke(tmp_path / "nuke")
    stubs = tmp_path / "stubs"
    for name in HOST_STUBS:
        (stubs / name).parent.mkdir(parents=True, exist_ok=True)
        (stubs / name).write_text("def __getattr__(name):\n    return type(name, (), {})\n")
    vendored = ["omnivfx_nuke.vendor.omnimotion_vfx." + name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
                for name in CLIENT_FILES if name != "__init__.py"]
    bridge = ["omnivfx_nuke." + path.stem for path in sorted((folder / "omnivfx_nuke").glob("*.py")) if path.stem != "__init__"]
    done = subprocess.run([python, "-c", IMPORT_ON_3_9, str(folder), str(stubs), *vendored, *bridge],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    refused, schema = done.stdout.splitlines()
    assert refused == "refused: job: grid (--grid) must be an integer, got 'four'"
    assert json.loads(schema) == job_schema()
    assert "omnivfx_nuke.vendor.omnimotion_vfx.tracking.job_schema" in vendored and "omnivfx_nuke.panel" in bridge
