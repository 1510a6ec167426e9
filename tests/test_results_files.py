"""The results folder on a studio's disks, through the installed `omnivfx` command: files other users can read
(the umask decides, as for `cp`), exports from any working folder and after a move, a writable default place
(never beside a read-only plate), and a flow cache that does not stay behind."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fs_support import read_only_folder
from plate_factory import write_plate

OMNIVFX = str(Path(sys.executable).parent / "omnivfx")
FAST_ENGINE = json.dumps({"trainer.steps": 8})  # the omnimotion tracker, fitted in seconds (inaccurate on purpose)


def omnivfx(*args: str, cwd: Path, umask: int = 0o022, **env: str) -> subprocess.CompletedProcess:
    """The command under `umask`, in `cwd`, with $OMNIVFX_RESULTS only when a test sets it."""
    full_env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMNIVFX_LOG_DIR=str(cwd), **env)
    if "OMNIVFX_RESULTS" not in env:
        full_env.pop("OMNIVFX_RESULTS", None)
    return subprocess.run(["sh", "-c", f'umask {umask:03o} && exec "$0" "$@"', OMNIVFX, *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=full_env, timeout=300)


def track(plate: str, cwd: Path, *args: str, umask: int = 0o022, **env: str) -> Path:
    done = omnivfx("track", plate, "--grid", "2", *args, cwd=cwd, umask=umask, **env)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def _others_can_enter(folder: Path) -> bool:
    """Whether another user can reach files under `folder`: it and every folder above it are world-executable."""
    return all(path.stat().st_mode & 0o001 for path in (folder, *folder.parents))


@pytest.fixture
def shared_tmp(tmp_path):
    """A folder another user can enter. pytest's tmp folders sit under a folder private to their owner, so where
    tmp_path's parents are closed the folder is made in the system's temporary folder instead."""
    if _others_can_enter(tmp_path.parent):
        tmp_path.chmod(0o755)
        yield tmp_path
        return
    base = Path(tempfile.gettempdir())
    if not _others_can_enter(base):
        pytest.skip(f"neither pytest's tmp folder nor {base} can be entered by another user")
    folder = Path(tempfile.mkdtemp(prefix="omnivfx-files-", dir=base))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def written_files(results: Path) -> list[Path]:
    return sorted(p for p in results.rglob("*") if p.is_file())


def test_every_result_file_follows_the_umask(tmp_path):
    plate = write_plate(tmp_path / "shot", count=6, size=(48, 32))
    results = track(plate, tmp_path, "--preset", "test", "--keep-cache", "--export", "nuke,motion,qc",
                    OMNIVFX_ENGINE_OVERRIDES=FAST_ENGINE)
    files = written_files(results)
    kinds = {p.suffix for p in files}
    assert {".npz", ".json", ".nk", ".exr", ".mp4", ".pt"} <= kinds, kinds  # tracks, exports, cache, checkpoint
    assert any("work/flow" in str(p) for p in files) and any("work/motion" in str(p) for p in files)
    modes = {oct(p.stat().st_mode & 0o777) for p in files}
    assert modes == {"0o644"}, [(str(p), oct(p.stat().st_mode & 0o777)) for p in files if p.stat().st_mode & 0o777 != 0o644]
    assert {oct(p.stat().st_mode & 0o777) for p in results.rglob("*") if p.is_dir()} == {"0o755"}

    private = track(plate, tmp_path, "--tracker", "chained-flow", "--out", tmp_path / "private", "--export", "nuke,motion",
                    umask=0o077)
    assert {oct(p.stat().st_mode & 0o777) for p in written_files(private)} == {"0o600"}


def test_another_user_reads_the_results(shared_tmp):
    """As another user's Nuke would: runs `cat` as `nobody`, so it needs root and runuser."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("reading as another user needs root and runuser (runs `runuser -u nobody -- cat FILE`)")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody' to read the results as")
    plate = write_plate(shared_tmp / "shot", count=4, size=(48, 32))
    results = track(plate, shared_tmp, "--tracker", "chained-flow", "--export", "nuke,qc")
    for path in (results / "tracks.npz", results / "export" / "nuke" / "tracks.nk", results / "export" / "qc" / "qc.mp4"):
        read = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(path)], capture_output=True)
        assert read.returncode == 0 and read.stdout == path.read_bytes(), read.stderr.decode()


def test_exports_from_any_folder_and_after_moving_plate_and_results_together(tmp_path):
    show = tmp_path / "show"
    plate = write_plate(show / "plates", count=6, size=(48, 32))
    work_dir = tmp_path / "artist"
    work_dir.mkdir()
    results = track(os.path.relpath(plate, work_dir), work_dir, "--tracker", "chained-flow", "--out", "../show/track")
    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["plate"] == plate and manifest["config"]["job"]["plate"] == plate
    assert manifest["config"]["job"]["out"] == str(results) and manifest["plate_relative"] == "../plates/plate.%04d.exr"

    elsewhere = omnivfx("export", results, "--format", "motion,qc", cwd=Path("/"))
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert len(list((results / "export" / "motion").glob("*.exr"))) == 6 and (results / "export" / "qc" / "qc.mp4").is_file()

    moved = tmp_path / "archive" / "show"
    moved.parent.mkdir()
    show.rename(moved)
    shutil.rmtree(moved / "track" / "export")
    again = omnivfx("export", moved / "track", "--format", "motion,qc", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(list((moved / "track" / "export" / "motion").glob("*.exr"))) == 6

    shutil.rmtree(moved / "plates")
    lost = omnivfx("export", moved / "track", "--format", "qc", cwd=tmp_path)
    assert lost.returncode == 2 and lost.stderr.count("\n") == 1, lost.stderr
    assert plate in lost.stderr and str(moved / "plates" / "plate.%04d.exr") in lost.stderr


def test_default_results_folder_is_under_the_working_folder_or_omnivfx_results(tmp_path):
    plate = write_plate(tmp_path / "sh010" / "plate", count=4, size=(48, 32))
    assert track(plate, tmp_path, "--tracker", "chained-flow") == tmp_path / "omnivfx" / "plate_plate"
    assert not (tmp_path / "sh010" / "plate" / "omnivfx").exists()
    shared = tmp_path / "shared_results"
    assert track(plate, tmp_path, "--tracker", "chained-flow", OMNIVFX_RESULTS=str(shared)) == shared / "plate_plate"

    other = write_plate(tmp_path / "sh020" / "plate", count=4, size=(48, 32))  # same folder and plate names
    clash = omnivfx("track", other, "--grid", "2", "--tracker", "chained-flow", cwd=tmp_path)
    assert clash.returncode == 2 and clash.stderr.count("\n") == 1, clash.stderr
    assert "another plate" in clash.stderr and "--out" in clash.stderr and str(plate) in clash.stderr


def test_a_read_only_working_folder_is_one_line_naming_out(tmp_path):
    plate = write_plate(tmp_path / "plates", count=4, size=(48, 32))
    with read_only_folder(tmp_path / "plates"):
        done = omnivfx("track", "plate.%04d.exr", "--grid", "2", "--tracker", "chained-flow", cwd=tmp_path / "plates")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("omnivfx: error: cannot write results to ")
    assert str(tmp_path / "plates" / "omnivfx" / "plates_plate") in done.stderr
    assert "pass --out to a writable folder or set OMNIVFX_RESULTS" in done.stderr
    assert Path(plate).parent.exists() and not (tmp_path / "plates" / "omnivfx").exists()


def test_flow_cache_is_removed_unless_kept_and_the_reload_reuses_the_fit(tmp_path):
    plate = write_plate(tmp_path / "shot", count=6, size=(48, 32))
    env = {"OMNIVFX_ENGINE_OVERRIDES": FAST_ENGINE}
    kept = track(plate, tmp_path, "--preset", "test", "--out", "kept", "--keep-cache", **env)
    assert any((kept / "work" / "flow").rglob("*.npz"))
    results = track(plate, tmp_path, "--preset", "test", "--out", "cleaned", **env)
    work = results / "work"
    assert not (work / "flow").exists() and (work / "engine" / "checkpoint.pt").is_file()
    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["cache_bytes"] == sum(p.stat().st_size for p in work.rglob("*") if p.is_file())

    checkpoint = work / "engine" / "checkpoint.pt"
    fitted_at = checkpoint.stat().st_mtime_ns
    with np.load(results / "tracks.npz") as data:
        tracked = data["tracks"]
    done = omnivfx("export", results, "--format", "motion", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert checkpoint.stat().st_mtime_ns == fitted_at  # the flow was recomputed, the engine not refitted
    assert not (work / "flow").exists() and (work / "motion").is_dir()  # the recomputed flow went again
    with np.load(results / "tracks.npz") as data:
        np.testing.assert_array_equal(data["tracks"], tracked)


def test_clean_frees_the_flow_cache_and_with_all_the_fit(tmp_path):
    plate = write_plate(tmp_path / "shot", count=6, size=(48, 32))
    results = track(plate, tmp_path, "--tracker", "chained-flow", "--keep-cache", "--export", "motion")
    flow = results / "work" / "flow"
    assert flow.is_dir()
    dry = omnivfx("clean", results, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and flow.is_dir(), dry.stderr
    assert dry.stdout.startswith(f"would remove {flow} (") and "would free" in dry.stdout
    done = omnivfx("clean", results, cwd=tmp_path)
    assert done.returncode == 0 and not flow.exists() and (results / "work" / "motion").is_dir(), done.stderr
    assert "freed" in done.stdout
    everything = omnivfx("clean", results, "--all", cwd=tmp_path)
    assert everything.returncode == 0 and not (results / "work" / "motion").exists(), everything.stderr
    assert json.loads((results / "manifest.json").read_text())["cache_bytes"] == 0
    assert (results / "tracks.npz").is_file() and (results / "export" / "motion").is_dir()
    wrong = omnivfx("clean", tmp_path / "shot", cwd=tmp_path)
    assert wrong.returncode == 2 and "tracks.npz not found" in wrong.stderr
