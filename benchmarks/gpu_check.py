"""The GPU check of issue 23: one command, one table of the engine's speed figures against the issue's targets.

Runs the product path in this process (`job_runner.run_track_job` with a `TrackJob`), so peak GPU memory
(`torch.cuda.max_memory_allocated`, per process) is read per step. Steps, each timed:

1. environment: torch, device, the card's peak bf16/fp32 TFLOP/s and memory bandwidth (when the card is known);
2. the sample plate (samples/orbit) with `default`, `default` with the torch flow (`flow.backend=torch`) and
   `preview`, scored against its ground truth (AJ), fit steps/s from the manifest (config.tracker.fit:
   steps_done / fit_seconds);
3. `paper`: steps/s over a bounded number of steps (an engine override) and its projected full schedule;
4. seconds per flow of DIS (CPU) and of the torch TV-L1 (the run's device; on CUDA at batches 1, 8 and 32) at
   256x256 and 854x480 (benchmarks/flow_backends.py's moving texture);
5. synthetic clips end to end (flow + fit + dense `motion` export of every frame): 48 frames 256x256 with DIS
   and with the torch flow, 100 frames 854x480, total seconds and peak GPU memory;
6. the flow-link fusion (`FlowFusion.refine`, `default` settings) over the sample plate's flow for 400 queries,
   links only and in full, on the CPU and on the run's device: seconds, and how far the two answers differ;
7. several small clips at once (separate processes, as a farm GPU would run them): throughput.

Without CUDA (or with `--cpu`) it runs tiny versions of every step (few frames, few steps) so the script itself
is testable on a CPU in well under a minute; those figures say nothing about the GPU. `--budget-s` bounds the
whole run: steps that would start after it are listed as skipped, and each fit gets the time left as its
deadline. On the lent GPU machine run it through benchmarks/gpu_check.sh (docs/engine.md, "GPU check").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from the source folder, without an install
    sys.path.insert(0, str(ROOT))

from omnimotion_vfx.progress import ProgressReporter  # noqa: E402  (after the path; no torch, no cv2)

SAMPLE = ROOT / "samples" / "orbit"
# Published peaks (dense, no sparsity) of the cards the check is meant for: (bf16 TFLOP/s, fp32 TFLOP/s, TB/s).
CARD_PEAKS: dict[str, tuple[float, float, float]] = {
    "H200": (989.0, 67.0, 4.8),
    "H100 PCIe": (756.0, 51.0, 2.0),
    "H100 NVL": (835.0, 60.0, 3.9),
    "H100": (989.0, 67.0, 3.35),  # SXM; matched after the more specific H100 names
    "A100": (312.0, 19.5, 2.0),
}
ROW_NAMES = ("environment", "orbit default", "orbit torch flow", "orbit preview", "paper steps/s", "flow s/flow",
             "clip 48f 256x256", "clip 48f torch", "clip 100f 854x480", "fusion on device", "clips at once")


@dataclass
class Sizes:
    """What each step runs: the real sizes on a GPU, tiny ones for a CPU smoke run."""

    orbit_frames: str | None  # a frame range of the sample plate (None: all 36)
    orbit_steps: dict[str, int] = field(default_factory=dict)  # trainer.steps override per preset ({}: the preset's)
    paper_steps: int = 200
    paper_extra: dict[str, Any] = field(default_factory=dict)
    clip48: tuple[int, int, int] = (48, 256, 256)  # frames, width, height
    clip100: tuple[int, int, int] = (100, 854, 480)
    clip_steps: int | None = None
    many: tuple[int, int, int, int] = (10, 32, 256, 256)  # clips, frames, width, height
    torch_flow: dict[str, Any] = field(default_factory=dict)  # FlowConfig fields of every torch flow run ({}: defaults)
    flow_sizes: tuple[tuple[int, int], ...] = ((256, 256), (854, 480))  # width, height of the per-flow timing
    dis_flows: int = 8  # flows per DIS timing
    torch_flows: int = 32  # flows per torch timing (a whole batch of the largest size)
    torch_batches: tuple[int, ...] = (1, 8, 32)  # torch_batch values timed on CUDA (the CPU caps it at 2)
    flow_repeats: int = 2
    fusion_queries: int = 400


FULL = Sizes(orbit_frames=None)
# The torch flow runs 5 warps x 30 iterations per level: 1.6 s a 256x256 flow on the 2-core development machine,
# so the tiny runs solve it coarsely (the smoke run checks the path, not the flow).
TINY = Sizes(orbit_frames="1001-1006", orbit_steps={"default": 4, "preview": 4}, paper_steps=2,
             paper_extra={"sampler.pairs_per_step": 2, "sampler.points_per_pair": 16},
             clip48=(5, 64, 64), clip100=(5, 107, 60), clip_steps=3, many=(2, 4, 48, 48),
             torch_flow={"torch_warps": 1, "torch_iterations": 5}, flow_sizes=((64, 64), (107, 60)), dis_flows=2,
             torch_flows=2, torch_batches=(2,), flow_repeats=1, fusion_queries=40)


@dataclass
class Row:
    name: str
    measured: str
    target: str = ""
    verdict: str = ""  # "met", "MISSED", "" (no target or not comparable), "skipped", "failed"
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


class Check:
    """Runs the steps in order within a time budget and collects one row each."""

    def __init__(self, device: str, tiny: bool, budget_s: float, work: Path, on_row: Callable[[], None]) -> None:
        self.device, self.tiny, self.budget_s, self.work, self.on_row = device, tiny, budget_s, work, on_row
        self.sizes = TINY if tiny else FULL
        self.start = time.monotonic()
        self.rows: list[Row] = []
        self.peaks: tuple[float, float, float] | None = None

    def left_s(self) -> float:
        return self.budget_s - (time.monotonic() - self.start)

    def step(self, name: str, fn: Callable[[], Row]) -> None:
        if self.left_s() <= 0:
            self.rows.append(Row(name, "-", verdict="skipped", detail={"why": f"the {self.budget_s:.0f} s budget is spent"}))
            self.on_row()
            return
        reset_peak(self.device)
        t0 = time.monotonic()
        try:
            row = fn()
        except Exception as exc:  # one failed step must not hide the others' figures
            row = Row(name, "-", verdict="failed", detail={"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:200]})
        row.name, row.seconds = name, time.monotonic() - t0
        self.rows.append(row)
        self.on_row()
        print(f"[gpu_check] {name}: {row.measured} {row.verdict} ({row.seconds:.1f} s)", file=sys.stderr, flush=True)

    # --- the steps ----------------------------------------------------------------------------------------
    def environment(self) -> Row:
        import torch

        name = torch.cuda.get_device_name(0) if self.device == "cuda" else "CPU"
        peaks = self.peaks = card_peaks(name) if self.device == "cuda" else None
        detail: dict[str, Any] = {"torch": torch.__version__, "python": sys.version.split()[0], "device": name,
                                  "cuda": torch.version.cuda or "-", "cpu_cores": os.cpu_count()}
        if peaks:
            detail.update(peak_bf16_tflops=peaks[0], peak_fp32_tflops=peaks[1], peak_tb_s=peaks[2])
        if self.device == "cuda":
            detail["memory_gb"] = round(torch.cuda.get_device_properties(0).total_memory / 1e9, 1)
            torch.ones(1, device="cuda").sum().item()  # the CUDA context starts here, not inside the first fit
        peak_text = f"; peak {peaks[0]:.0f} bf16 / {peaks[1]:.0f} fp32 TFLOP/s, {peaks[2]} TB/s" if peaks else ""
        return Row("", f"torch {torch.__version__}, {name}{peak_text}", detail=detail)

    def orbit(self, preset: str) -> Row:
        steps = self.sizes.orbit_steps.get(preset)
        overrides = {"trainer.steps": steps} if steps else {}
        scores, manifest, count = self.orbit_scored(preset, overrides, f"orbit_{preset}")
        rate, fit = fit_rate(manifest)
        target = 150.0 if preset == "default" else None
        flops = self.flops_per_step(preset, overrides)
        measured = (f"AJ {scores['AJ']:.1f}, fit {rate:.1f} steps/s ({fit['steps_done']} steps, "
                    f"{self.achieved(flops, rate)}), total {total_s(manifest):.1f} s")
        return Row("", measured, ">= 150 steps/s" if target else "", verdict(rate, target, higher=True, tiny=self.tiny),
                   detail={"scores": scores, "fit": fit, "flops_per_step": flops, "timings": manifest.get("timings", {}),
                           "stage_s": manifest["stage_s"], "frames": count})

    def orbit_torch_flow(self) -> Row:
        """`default` on the sample plate with the torch flow on the run's device, beside the DIS row."""
        steps = self.sizes.orbit_steps.get("default")
        overrides = {**({"trainer.steps": steps} if steps else {}), **self.torch_flow_overrides()}
        scores, manifest, count = self.orbit_scored("default", overrides, "orbit_default_torch")
        rate, fit = fit_rate(manifest)
        flow_s = manifest["stage_s"].get("flow", float("nan"))
        dis = next((row.detail for row in self.rows if row.name == ROW_NAMES[1] and "scores" in row.detail), None)
        dis_flow_s = dis["stage_s"].get("flow", float("nan")) if dis else None
        measured = (f"AJ {scores['AJ']:.1f}" + (f" (DIS {dis['scores']['AJ']:.1f})" if dis else "")
                    + f", flow {flow_s:.1f} s" + (f" (DIS {dis_flow_s:.1f} s)" if dis else "")
                    + f", fit {rate:.1f} steps/s, total {total_s(manifest):.1f} s")
        return Row("", measured, detail={"scores": scores, "fit": fit, "timings": manifest.get("timings", {}),
                                         "stage_s": manifest["stage_s"], "frames": count, "overrides": overrides})

    def paper(self) -> Row:
        from omnimotion_vfx.tracking.presets import run_preset

        planned = run_preset("paper").engine.trainer.steps
        overrides = {"trainer.steps": self.sizes.paper_steps, **self.sizes.paper_extra}
        _, manifest = self.track(str(SAMPLE / "orbit.%04d.png"), "paper", overrides, "paper",
                                 frames=self.sizes.orbit_frames, queries=str(SAMPLE / "points.csv"))
        rate, fit = fit_rate(manifest)
        projected_min = planned / rate / 60 if rate > 0 else float("inf")
        flops = self.flops_per_step("paper", overrides)
        measured = (f"{rate:.2f} steps/s over {fit['steps_done']} steps ({self.achieved(flops, rate)}); "
                    f"{planned} steps ~ {projected_min:.0f} min")
        return Row("", measured, ">= 100 steps/s (< 20 min)", verdict(rate, 100.0, higher=True, tiny=self.tiny),
                   detail={"fit": fit, "flops_per_step": flops, "planned_steps": planned, "projected_min": round(projected_min, 1),
                           "overrides": overrides})

    def clip(self, frames: int, width: int, height: int, target_s: float, target_gb: float | None,
             torch_flow: bool = False) -> Row:
        folder = self.synthetic_plate(frames, width, height)
        overrides = {"trainer.steps": self.sizes.clip_steps} if self.sizes.clip_steps else {}
        if torch_flow:
            overrides.update(self.torch_flow_overrides())
        t0 = time.monotonic()
        _, manifest = self.track(str(folder / "plate.%04d.png"), "default", overrides,
                                 folder.name + ("_track_torch" if torch_flow else "_track"), grid=4, export="motion")
        seconds = time.monotonic() - t0
        memory = peak_memory_gb(self.device)
        rate, fit = fit_rate(manifest)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in manifest["stage_s"].items())
        measured = f"{frames}f {width}x{height}: {seconds:.1f} s ({stages}), {memory}, fit {rate:.1f} steps/s"
        target = f"<= {target_s:.0f} s" + (f", <= {target_gb:.0f} GB" if target_gb else "")
        ok = verdict(seconds, target_s, higher=False, tiny=self.tiny)
        if ok == "met" and target_gb and self.device == "cuda":
            ok = verdict(peak_gpu_gb(), target_gb, higher=False, tiny=self.tiny)
        return Row("", measured, target, ok, detail={"seconds": round(seconds, 2), "fit": fit,
                                                     "stage_s": manifest["stage_s"], "size": [frames, width, height],
                                                     "overrides": overrides})

    def flow_speed(self) -> Row:
        """Seconds per flow of DIS on the CPU and of the torch flow on the run's device, each size, with
        benchmarks/flow_backends.py's moving texture and timing (the raw flow call: no filtering or chaining)."""
        from benchmarks.flow_backends import measure, moving_texture
        from omnimotion_vfx.flow import FlowConfig

        s = self.sizes
        torch_config = FlowConfig(backend="torch").with_overrides(s.torch_flow)
        batches = s.torch_batches if self.device == "cuda" else (min(torch_config.torch_batch, 2),)
        parts, sizes = [], []
        for width, height in s.flow_sizes:
            video, truth = moving_texture(width, height, max(s.dis_flows, s.torch_flows) + 1)
            dis_s, dis_px = measure(FlowConfig(), "cpu", video, truth, s.dis_flows, s.flow_repeats)
            runs = {b: measure(replace(torch_config, torch_batch=b), self.device, video, truth, s.torch_flows,
                               s.flow_repeats) for b in batches}
            best = min(runs, key=lambda b: runs[b][0])
            others = ", ".join(f"batch {b} {runs[b][0]:.4f}" for b in batches if b != best)
            parts.append(f"{width}x{height}: DIS {dis_s:.4f} (cpu), torch {runs[best][0]:.4f} "
                         f"({self.device}, batch {best}" + (f"; {others}" if others else "") + ")")
            sizes.append({"size": [width, height], "dis_s": dis_s, "dis_epe_px": dis_px,
                          "torch_s": {b: r[0] for b, r in runs.items()},
                          "torch_epe_px": {b: r[1] for b, r in runs.items()}})
        return Row("", "; ".join(parts), detail={"sizes": sizes, "torch_device": self.device, "dis_flows": s.dis_flows,
                                                 "torch_flows": s.torch_flows, "torch_flow": s.torch_flow})

    def fusion(self) -> Row:
        """`FlowFusion.refine` with the `default` settings over the sample plate's `default` flow, queries at random
        frames and places with no model (each standing still, as benchmarks/fusion_speed.py): links only
        (`reacquire=False`, the motion field's seeds) and in full, on the CPU and on the run's device, and how far
        the device's answer is from the CPU's. On a CPU run both sides are the CPU (a smoke run of the path)."""
        import numpy as np

        from omnimotion_vfx.flow import compute_correspondences
        from omnimotion_vfx.fusion import FlowFusion
        from omnimotion_vfx.io import open_plate
        from omnimotion_vfx.tracking.presets import run_preset

        run = run_preset("default")
        video = open_plate(str(SAMPLE / "orbit.%04d.png"), self.sizes.orbit_frames).load_uint8()
        t0 = time.monotonic()
        correspondences = compute_correspondences(video, run.flow)
        flow_s = time.monotonic() - t0
        frames, height, width = video.shape[:3]
        rng = np.random.default_rng(0)
        n = self.sizes.fusion_queries
        index = rng.integers(0, frames, n)
        still = np.repeat(rng.uniform((0, 0), (width, height), (n, 1, 2)).astype(np.float32), frames, axis=1)
        seen = np.ones((n, frames), bool)
        answers: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        seconds: dict[str, dict[str, float]] = {}
        for side, device in (("cpu", "cpu"), ("device", self.device)):
            t0 = time.monotonic()
            fusion = FlowFusion(correspondences, run.fusion.without_model(), video, device)
            seconds[side] = {"setup": time.monotonic() - t0}
            fusion.refine(index[:8], still[:8], seen[:8], reacquire=False)  # warm-up: allocations, kernels
            answers[side] = {}
            for part, reacquire in (("links", False), ("full", True)):
                t0 = time.monotonic()
                answers[side][part] = fusion.refine(index, still, seen, reacquire=reacquire)
                seconds[side][part] = time.monotonic() - t0
        agree = {part: {"max_px": float(np.abs(answers["device"][part][0] - answers["cpu"][part][0]).max()),
                        "visibility_flips": int((answers["device"][part][1] != answers["cpu"][part][1]).sum())}
                 for part in ("links", "full")}
        cpu, dev = seconds["cpu"], seconds["device"]
        other = self.device if self.device != "cpu" else "cpu again"
        measured = (f"{n} queries x {frames}f: links cpu {cpu['links']:.2f} s, {other} {dev['links']:.2f} s; "
                    f"full cpu {cpu['full']:.1f} s, {other} {dev['full']:.1f} s; {other} - cpu: links "
                    f"{agree['links']['max_px']:.2g} px, {agree['links']['visibility_flips']} flips, full "
                    f"{agree['full']['max_px']:.2g} px, {agree['full']['visibility_flips']} flips of {n * frames}")
        return Row("", measured, detail={"seconds": seconds, "agreement": agree, "device": self.device, "queries": n,
                                         "frames": frames, "pairs": len(correspondences.pairs),
                                         "flow_s": round(flow_s, 2), "peak_memory": peak_memory_gb(self.device)})

    def many_clips(self) -> Row:
        count, frames, width, height = self.sizes.many
        plates = [self.synthetic_plate(frames, width, height, seed=11 + i) for i in range(count)]
        overrides = {"trainer.steps": self.sizes.clip_steps} if self.sizes.clip_steps else {}
        args = [(str(p / "plate.%04d.png"), str(self.work / f"{p.name}_many"), self.device, overrides,
                 max(self.left_s(), 1.0)) for p in plates]
        alone = one_clip(args[0][:1] + (str(self.work / "alone"),) + args[0][2:])
        t0 = time.monotonic()
        with multiprocessing.get_context("spawn").Pool(count) as pool:
            each = pool.map(one_clip, args)
        wall = time.monotonic() - t0
        measured = (f"{count} x {frames}f {width}x{height}: {wall:.1f} s for all, {sum(each) / count:.1f} s each "
                    f"(alone {alone:.1f} s), {count * 60 / wall:.1f} clips/min")
        return Row("", measured, "", "", detail={"wall_s": round(wall, 2), "each_s": [round(s, 2) for s in each],
                                                  "alone_s": round(alone, 2)})

    # --- helpers -------------------------------------------------------------------------------------------
    def orbit_scored(self, preset: str, overrides: dict[str, Any], name: str) -> tuple[dict[str, float], dict, int]:
        """Track the sample plate's points and score them against its ground truth: (metrics, manifest, frames)."""
        import numpy as np

        from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics

        folder, manifest = self.track(str(SAMPLE / "orbit.%04d.png"), preset, overrides, name,
                                      frames=self.sizes.orbit_frames, queries=str(SAMPLE / "points.csv"))
        truth = np.load(SAMPLE / "ground_truth.npz")
        result = np.load(folder / "tracks.npz")
        count = result["tracks"].shape[1]
        queries = truth["query_points"] - np.array([1001, 0, 0], np.float32)
        scores = all_metrics(queries, truth["tracks"][:, :count], truth["visible"][:, :count], result["tracks"],
                             result["visible"], (256, 256), "first")
        return {k: round(float(v), 2) for k, v in scores.items()}, manifest, count

    def torch_flow_overrides(self) -> dict[str, Any]:
        """The engine overrides of a job whose flow is the torch backend (on the job's device)."""
        return {"flow.backend": "torch", **{f"flow.{k}": v for k, v in self.sizes.torch_flow.items()}}

    def flops_per_step(self, preset: str, overrides: dict[str, Any]) -> float:
        """Floating-point operations of one fit step (forward and backward), counted by torch's FlopCounterMode
        (matrix products and convolutions only: the MLPs' work, not the elementwise rest) over a 3-step fit
        on six frames of the sample plate. A step's count depends on the batch and the model, not on the clip's
        length or which pairs were drawn, so adjacent-only flow on a few frames stands in for the real clip."""
        from torch.utils.flop_counter import FlopCounterMode

        from omnimotion_vfx.engine.tracker import fit
        from omnimotion_vfx.flow import FlowConfig, compute_correspondences
        from omnimotion_vfx.io import open_plate
        from omnimotion_vfx.tracking.presets import run_preset

        video = open_plate(str(SAMPLE / "orbit.%04d.png"), "1001-1006").load_uint8()
        correspondences = compute_correspondences(video, FlowConfig.preset("adjacent"))
        steps = 3
        config = run_preset(preset).with_overrides(
            {**overrides, "trainer.steps": steps, "sampler.error_cache_every": 0, "device": self.device}).engine
        with FlopCounterMode(display=False) as counter:
            fit(video, correspondences, config)
        return counter.get_total_flops() / steps

    def achieved(self, flops_per_step: float, steps_per_s: float) -> str:
        """Achieved matmul TFLOP/s of the fit, and its share of the card's bf16 peak when the card is known."""
        tflops = flops_per_step * steps_per_s / 1e12
        share = f" = {100 * tflops / self.peaks[0]:.3f} % of bf16 peak" if self.peaks else ""
        return f"{tflops:.4f} TFLOP/s{share}"

    def track(self, plate: str, preset: str, overrides: dict[str, Any], name: str, frames: str | None = None,
              queries: str | None = None, grid: int | None = None, export: str | None = None) -> tuple[Path, dict]:
        """One in-process track job; its fit's deadline is the time left in the budget."""
        from omnimotion_vfx.job_runner import run_track_job
        from omnimotion_vfx.tracking.job import TrackJob

        job = TrackJob(plate=plate, frames=frames, queries=queries, grid=grid, out=str(self.work / name),
                       preset=preset, device=self.device, export=export,
                       fit_minutes=max(self.left_s(), 1.0) / 60.0)
        timer = StageTimer()
        with engine_overrides(overrides):
            folder = run_track_job(job, timer)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["stage_s"] = {k: round(v, 3) for k, v in timer.seconds.items()}
        return folder, manifest

    def synthetic_plate(self, frames: int, width: int, height: int, seed: int = 7) -> Path:
        from omnimotion_vfx.evaluation.plate_writer import write_plate
        from omnimotion_vfx.evaluation.synthetic import SceneParams, build_scene, render

        folder = self.work / f"plate_{frames}f_{width}x{height}_s{seed}"
        if not folder.exists():
            write_plate(render(build_scene(SceneParams(seed=seed, frames=frames, width=width, height=height))), folder)
        return folder


def one_clip(args: tuple[str, str, str, dict[str, Any], float]) -> float:
    """Track one synthetic plate end to end in this process (a pool worker): its seconds."""
    plate, out, device, overrides, budget_s = args
    from omnimotion_vfx.job_runner import run_track_job
    from omnimotion_vfx.tracking.job import TrackJob

    t0 = time.monotonic()
    with engine_overrides(overrides):
        run_track_job(TrackJob(plate=plate, out=out, grid=4, device=device, fit_minutes=budget_s / 60.0))
    return time.monotonic() - t0


@contextlib.contextmanager
def engine_overrides(overrides: dict[str, Any]) -> Iterator[None]:
    """Set OMNIVFX_ENGINE_OVERRIDES (what `fit_job` reads) for one job."""
    before = os.environ.get("OMNIVFX_ENGINE_OVERRIDES")
    os.environ["OMNIVFX_ENGINE_OVERRIDES"] = json.dumps(overrides)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OMNIVFX_ENGINE_OVERRIDES", None)
        else:
            os.environ["OMNIVFX_ENGINE_OVERRIDES"] = before


class StageTimer(ProgressReporter):
    """Seconds per progress stage (flow, fit, export, ...), summed where a stage repeats: the fit stage's time
    is exact where the manifest's fit_seconds is rounded to 0.1 s (a 2 s GPU fit would be off by 5 %)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: dict[str, float] = {}
        self._began = 0.0

    def begin(self, stage: str, total: int) -> None:
        self._began = time.monotonic()
        super().begin(stage, total)

    def end(self) -> None:
        self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + time.monotonic() - self._began
        super().end()


def fit_rate(manifest: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """(steps/s, the fit summary): steps_done over the fit stage's timed seconds (`stage_s`, which `track`
    adds to the manifest), else over the manifest's fit_seconds."""
    fit = dict(manifest["config"]["tracker"]["fit"])
    seconds = float(manifest.get("stage_s", {}).get("fit") or fit["fit_seconds"])
    fit["timed_fit_s"] = round(seconds, 3)
    return (fit["steps_done"] / seconds if seconds > 0 else float("nan")), fit


def total_s(manifest: dict[str, Any]) -> float:
    return float(manifest.get("timings", {}).get("total", float("nan")))


def card_peaks(device_name: str) -> tuple[float, float, float] | None:
    """Published peaks of a known card, matched on its name ("NVIDIA H100 80GB HBM3" -> H100)."""
    for key, peaks in CARD_PEAKS.items():
        if key in device_name:
            return peaks
    return None


def verdict(value: float, target: float | None, higher: bool, tiny: bool) -> str:
    """"met"/"MISSED" against a target; none where there is no target or the run was a tiny CPU one (its
    figures are not the issue's measurement)."""
    if target is None or tiny or value != value:
        return ""
    return "met" if (value >= target if higher else value <= target) else "MISSED"


def reset_peak(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def peak_gpu_gb() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 1e9


def peak_memory_gb(device: str) -> str:
    """Peak GPU memory of the step on CUDA; on a CPU the process's peak RSS so far (not per step)."""
    if device == "cuda":
        return f"{peak_gpu_gb():.2f} GB GPU"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB RSS (process)"


def table(rows: list[Row], mode: str) -> str:
    """One line a step; the measured text last, since its length varies."""
    lines = [f"GPU check ({mode})", f"{'step':<18} {'verdict':<8} {'s':>6}  {'target':<26} measured"]
    for row in rows:
        note = row.detail.get("error") or row.detail.get("why") or ""
        measured = row.measured if not note else f"{row.measured} ({note})"
        lines.append(f"{row.name:<18} {row.verdict:<8} {row.seconds:>6.1f}  {row.target:<26} {measured}")
    return "\n".join(lines)


def write_json(path: Path | None, mode: str, rows: list[Row]) -> None:
    """The rows so far, with details: written after every step, so a run killed at its limit keeps them."""
    if path is not None:
        path.write_text(json.dumps({"mode": mode, "rows": [row.__dict__ for row in rows]}, indent=1, default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="run on the CPU, tiny sizes (also the default without CUDA)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes on any device (a smoke run)")
    parser.add_argument("--budget-s", type=float, default=420.0, help="skip the steps that would start after this")
    parser.add_argument("--work", type=Path, default=None, help="folder for plates and results (default: a temp folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows, with details, here")
    args = parser.parse_args(argv)

    import torch

    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    tiny = args.tiny or device == "cpu"
    mode = f"{device}, {'tiny sizes: smoke run, not the issue measurement' if tiny else 'full sizes'}"
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        check = Check(device, tiny, args.budget_s, work, lambda: write_json(args.json, mode, check.rows))
        s = check.sizes
        steps = [check.environment, lambda: check.orbit("default"), check.orbit_torch_flow, lambda: check.orbit("preview"),
                 check.paper, check.flow_speed, lambda: check.clip(*s.clip48, target_s=10.0, target_gb=None),
                 lambda: check.clip(*s.clip48, target_s=10.0, target_gb=None, torch_flow=True),
                 lambda: check.clip(*s.clip100, target_s=60.0, target_gb=8.0), check.fusion, check.many_clips]
        for name, fn in zip(ROW_NAMES, steps, strict=True):
            check.step(name, fn)
    print(table(check.rows, mode))
    print(f"total {time.monotonic() - check.start:.1f} s; targets are issue 23's (one H100/H200)"
          + ("; tiny figures are not GPU figures" if tiny else ""))
    return 1 if any(row.verdict == "failed" for row in check.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
