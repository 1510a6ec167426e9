"""Run presets (tracking/presets.py): one name sets the flow, engine and fusion settings; overrides reach the
right part, the fusion's old `inference.*` names still work, and fusion settings never change the engine fit.
Also the layout the presets rely on: the engine and the fusion know neither each other nor the job."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from engine_clips import exact_correspondences, translating_clip
from omnimotion_vfx.engine import PRESETS
from omnimotion_vfx.engine.checkpoint import fingerprint
from omnimotion_vfx.errors import InputError
from omnimotion_vfx.flow import FlowConfig
from omnimotion_vfx.tracking.presets import RUN_PRESETS, run_preset

PACKAGE = Path(__file__).resolve().parents[1] / "omnimotion_vfx"


def test_every_engine_preset_has_a_run_preset_with_its_flow_and_fusion():
    assert set(RUN_PRESETS) == set(PRESETS)
    flows = {"paper": "paper", "default": "default", "volumetric": "default", "preview": "default", "test": "adjacent",
             "fast": "default", "quality": "default"}
    for name, flow in flows.items():
        run = run_preset(name)
        assert run.name == run.engine.name == name and run.flow == FlowConfig.preset(flow)
        assert run.fusion.enabled == (name != "paper")
    assert set(run_preset("test").to_dict()) == {"name", "flow", "engine", "fusion", "motion"}


def test_quality_is_default_fitted_longer_and_nothing_else():
    # docs/engine.md measured `quality` as `default` with trainer.steps 3000 and decay_every 1500: it must stay that
    default, quality = run_preset("default"), run_preset("quality")
    assert quality.engine.trainer.steps == 10 * default.engine.trainer.steps
    assert quality.engine.trainer.decay_every == 10 * default.engine.trainer.decay_every
    same, longer = default.to_dict()["engine"], quality.to_dict()["engine"]
    for config in (same, longer):
        del config["name"]
        for name in ("steps", "decay_every", "checkpoint_every"):
            del config["trainer"][name]
    assert longer == same
    assert (quality.flow, quality.fusion, quality.motion) == (default.flow, default.fusion, default.motion)


def test_overrides_reach_engine_and_fusion_and_old_names_still_work():
    run = run_preset("test").with_overrides({"trainer.steps": 7, "inference.chunk": 512, "fusion.refine_smoothness": 2,
                                             "inference.reacquire_pull": 1.5, "inference.redetect": False,
                                             "inference.refine": False})
    assert run.engine.trainer.steps == 7 and run.engine.inference.chunk == 512
    assert run.fusion.refine_smoothness == 2.0 and isinstance(run.fusion.refine_smoothness, float)
    assert run.fusion.reacquire_pull == 1.5 and not run.fusion.redetect and not run.fusion.enabled
    assert run_preset("test").fusion.refine_smoothness == 0.3  # the preset itself is untouched
    with pytest.raises(InputError, match="unknown fusion setting 'fusion.smoothness'"):
        run_preset("test").with_overrides({"fusion.smoothness": 1.0})
    with pytest.raises(InputError, match="unknown fusion setting 'fusion.refine_everything'"):
        run_preset("test").with_overrides({"inference.refine_everything": 1.0})
    with pytest.raises(InputError, match="unknown engine setting 'inference.occlusion'"):
        run_preset("test").with_overrides({"inference.occlusion": 1.0})
    with pytest.raises(InputError, match="unknown engine preset 'nope'"):
        run_preset("nope")


def test_fusion_settings_leave_the_engine_fingerprint_alone():
    video, corr = translating_clip(6, 32), exact_correspondences(6, 32)
    plain = run_preset("test")
    changed = plain.with_overrides({"fusion.enabled": False, "fusion.refine_iterations": 9, "inference.chunk": 64})
    assert fingerprint(video, corr, plain.engine) == fingerprint(video, corr, changed.engine)
    assert fingerprint(video, corr, plain.engine) != fingerprint(video, corr, plain.with_overrides({"trainer.seed": 1}).engine)


def _imported_packages(folder: Path) -> set[str]:
    found = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("omnimotion_vfx."):
                found.add(node.module.split(".")[1])
    return found


def test_engine_and_fusion_do_not_know_each_other_nor_the_job():
    assert not _imported_packages(PACKAGE / "engine") & {"fusion", "tracking"}
    assert not _imported_packages(PACKAGE / "fusion") & {"engine", "tracking"}


def test_the_job_package_loads_without_torch():
    """The daemon's server and the CLI import the job early; torch loads only once the engine is built."""
    code = "import sys, omnimotion_vfx.tracking; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
