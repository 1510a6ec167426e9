"""benchmarks/gpu_check.py, the one command of issue 23's GPU check, runs end to end in its CPU mode.

No GPU here: these tests only prove the script (every step, the table, the budget, the JSON) works, so that the
lent GPU machine's short time is not spent on a crash. Its tiny figures are never GPU figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
ROWS = ["environment", "orbit default", "orbit torch flow", "orbit preview", "paper steps/s", "flow s/flow",
        "clip 48f 256x256", "clip 48f torch", "clip 100f 854x480", "fusion on device", "clips at once"]


def run_check(tmp_path: Path, *args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "check.json"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop("OMNIVFX_ENGINE_OVERRIDES", None)
    done = subprocess.run([sys.executable, str(SCRIPT), "--cpu", "--json", str(out), "--work", str(tmp_path / "work"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)
    return done, json.loads(out.read_text()) if out.exists() else {}


def table_rows(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("step "))
    return [line for line in lines[header + 1:] if not line.startswith("total ")]


def test_cpu_mode_runs_every_step_and_prints_one_row_each(tmp_path: Path) -> None:
    done, data = run_check(tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = table_rows(done.stdout)
    assert [line[:18].strip() for line in lines] == ROWS
    assert "tiny sizes" in done.stdout and "not GPU figures" in done.stdout
    rows = {row["name"]: row for row in data["rows"]}
    assert list(rows) == ROWS
    assert all(row["verdict"] == "" for row in rows.values()), "a tiny CPU run must not claim a target met or missed"
    for preset in ("orbit default", "orbit preview"):
        detail = rows[preset]["detail"]
        assert 0.0 <= detail["scores"]["AJ"] <= 100.0
        assert detail["fit"]["steps_done"] == 4 and detail["fit"]["timed_fit_s"] > 0
        assert detail["flops_per_step"] > 0 and "TFLOP/s" in rows[preset]["measured"]
    paper = rows["paper steps/s"]["detail"]
    assert paper["planned_steps"] == 100_000
    assert paper["flops_per_step"] > rows["orbit default"]["detail"]["flops_per_step"]  # the published model is the bigger one
    for clip in ("clip 48f 256x256", "clip 48f torch", "clip 100f 854x480"):
        assert "motion vectors" in rows[clip]["detail"]["stage_s"]  # the dense export ran
    assert rows["clip 48f torch"]["detail"]["overrides"]["flow.backend"] == "torch"
    torch_orbit = rows["orbit torch flow"]
    assert torch_orbit["detail"]["overrides"]["flow.backend"] == "torch"
    assert 0.0 <= torch_orbit["detail"]["scores"]["AJ"] <= 100.0 and torch_orbit["detail"]["stage_s"]["flow"] > 0
    assert "(DIS " in torch_orbit["measured"]
    flow = rows["flow s/flow"]["detail"]
    assert [entry["size"] for entry in flow["sizes"]] == [[64, 64], [107, 60]] and flow["torch_device"] == "cpu"
    for entry in flow["sizes"]:
        assert entry["dis_s"] > 0 and entry["dis_epe_px"] >= 0
        assert all(v > 0 for v in entry["torch_s"].values()) and all(v >= 0 for v in entry["torch_epe_px"].values())
    assert "torch" in rows["flow s/flow"]["measured"] and "(cpu, batch" in rows["flow s/flow"]["measured"]
    fusion = rows["fusion on device"]["detail"]
    assert fusion["queries"] == 40 and fusion["device"] == "cpu"
    for side in ("cpu", "device"):
        assert all(fusion["seconds"][side][part] > 0 for part in ("setup", "links", "full"))
    for part in ("links", "full"):  # both sides are the CPU here: the same answer
        assert fusion["agreement"][part] == {"max_px": 0.0, "visibility_flips": 0}
    assert "cuda" not in rows["fusion on device"]["measured"]
    exported = sorted((tmp_path / "work" / "plate_5f_107x60_s7_track" / "export" / "motion").glob("*.exr"))
    assert len(exported) == 5, "the dense motion export covers every frame"
    assert len(rows["clips at once"]["detail"]["each_s"]) == 2


def test_spent_budget_skips_every_step_and_says_so(tmp_path: Path) -> None:
    done, data = run_check(tmp_path, "--budget-s", "0", timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [row["verdict"] for row in data["rows"]] == ["skipped"] * len(ROWS)
    assert all("budget is spent" in line for line in table_rows(done.stdout))
