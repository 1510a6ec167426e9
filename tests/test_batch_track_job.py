"""The farm job unit: `omnivfx track --job spec.json` in a real process, JSON progress, SIGTERM -> exit 3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from omnimotion_vfx.results import load_results

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
import batch_support  # noqa: E402

# The real CLI, with the test trackers registered first (they are not part of the product).
CLI_WITH_TEST_TRACKERS = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); import batch_support; "
    "from omnivfx_cli.main import main; sys.argv[0] = 'omnivfx'; main()"
)


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMNIVFX_LOG_DIR=os.environ.get("TMPDIR", "/tmp"))


def test_job_spec_runs_with_json_progress(tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    spec = {"plate": plate, "frames": "1001-1005", "grid": 3, "tracker": "chained-flow", "out": str(tmp_path / "out")}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    run = subprocess.run(
        [sys.executable, "-m", "omnivfx_cli.main", "track", "--job", str(tmp_path / "spec.json"), "--json-progress"],
        capture_output=True, text=True, timeout=60, env=_env(),
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]  # every stdout line is JSON
    assert lines[-1] == {"result": str(tmp_path / "out")}
    stages = {line["stage"] for line in lines[:-1]}
    assert {"read", "flow"} <= stages
    assert all({"step", "total", "eta"} <= set(line) for line in lines[:-1])
    manifest = load_results(tmp_path / "out").manifest
    assert manifest["config"]["job"]["frames"] == "1001-1005" and manifest["frame_range"] == [1001, 1005]


def test_sigterm_checkpoints_exits_3_and_the_same_command_resumes(tmp_path):
    plate = batch_support.write_plate(tmp_path / "plate")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"plate": plate, "grid": 2, "tracker": "test-slow", "out": str(tmp_path / "out")}))
    command = [sys.executable, "-c", CLI_WITH_TEST_TRACKERS, str(TESTS), "track", "--job", str(spec), "--json-progress"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        for line in proc.stdout:
            event = json.loads(line)
            if event.get("stage") == "test-slow" and event["step"] >= 3:
                proc.send_signal(signal.SIGTERM)
                break
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 3, stderr
    assert "interrupted: received SIGTERM" in stderr and "Traceback" not in stderr
    checkpoint = json.loads((tmp_path / "out" / "work" / batch_support.CHECKPOINT).read_text())
    assert 3 <= checkpoint["step"] < 30
    assert not (tmp_path / "out" / "manifest.json").exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=60, env=_env())
    assert again.returncode == 0, again.stderr
    assert load_results(tmp_path / "out").manifest["config"]["tracker"]["resumed_from"] == checkpoint["step"]
