"""Fusion levers on the rendered suite: each variant of the fusion's (and flow's) settings on the same flow, per
clip, with chained flow measured in the same run (docs/engine.md, "Issue 24: accuracy levers").

The fusion runs on flow alone (each query's "model" track is its own position, as `flow-fusion` does), so a
lever's effect is the fusion's own and a variant costs seconds, not a fit. The flow of each clip is computed
once into `--cache` and reused by every variant (a variant with `flow.*` settings gets its own). `--rules`
also scores each visibility rule of the fusion against ground truth: how many frames it hides, how many of
those are visible, and the precision and recall of "occluded". Every run ends with the visible frames after a
point came back (hidden, or out of the image): how many each variant puts within 4 px and calls visible; and the
frames each variant calls visible that the first one hides: how many are visible, and within 4 px.

    .venv/bin/python benchmarks/fusion_levers.py --only -256,-480 \\
        --variant 'smooth3={"refine_smoothness": 3.0, "reacquire": false}' \\
        --variant 'smooth0.3={"reacquire": false}'
    .venv/bin/python benchmarks/fusion_levers.py --only -256,-480 --rules --variant 'now={"reacquire": false}'
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from omnimotion_vfx.errors import InputError  # noqa: E402
from omnimotion_vfx.evaluation.runner import evaluate, prepare_clip, query_sets  # noqa: E402
from omnimotion_vfx.evaluation.tapvid_metrics import all_metrics  # noqa: E402
from omnimotion_vfx.flow import compute_correspondences  # noqa: E402
from omnimotion_vfx.fusion import FlowFusion  # noqa: E402
from omnimotion_vfx.tracking.presets import run_preset  # noqa: E402
from suite_options import chosen_clips, suite_arguments  # noqa: E402  (this folder is on the path of a script run)
from visibility_evidence import WITHIN_PX, query_run  # noqa: E402


def flow_cache_folder(cache: Path, clip_name: str, flow_settings: dict) -> Path:
    """Where a clip's flow under these flow overrides is cached: variants with the same flow settings (and the other
    benchmarks that read the presets' flow, position_limits.py) share one folder."""
    key = hashlib.sha1(json.dumps(flow_settings, sort_keys=True).encode()).hexdigest()[:8]
    return cache / f"{clip_name}-{key}"


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, settings = text.partition("=")
    try:
        overrides = json.loads(settings or "{}")
    except ValueError:
        overrides = None
    if not name or not isinstance(overrides, dict):
        raise InputError(f"--variant {text!r}: write NAME={{\"fusion_setting\": value, \"flow.setting\": value}}")
    return name, overrides


class RuleRecorder:
    """Keeps what each of the fusion's visibility rules (`FlowFusion.visibility_rules`) says where a refine first
    decides visibility (the link passes, before any re-acquisition), and the decision itself: one record per chunk
    of queries, joined in order. Calls made inside a chunk (re-acquisition's support tracks) are not recorded."""

    def __init__(self) -> None:
        self._chunks: list[dict[str, np.ndarray]] = []
        self._original_rules, self._original_chunk = FlowFusion.visibility_rules, FlowFusion._refine_chunk
        recorder, depth = self, [0]

        def refine_chunk(fusion, *args, **kwargs):
            depth[0] += 1
            if depth[0] == 1:
                recorder._chunks.append({})
            try:
                return recorder._original_chunk(fusion, *args, **kwargs)
            finally:
                depth[0] -= 1

        def visibility_rules(fusion, *args):
            rules = recorder._original_rules(fusion, *args)
            if depth[0] == 1 and not recorder._chunks[-1]:
                chunk = {name: ~allowed.cpu().numpy() for name, allowed in rules.items()}
                chunk["all together"] = np.logical_or.reduce(list(chunk.values()))
                recorder._chunks[-1] = chunk
            return rules

        FlowFusion._refine_chunk, FlowFusion.visibility_rules = refine_chunk, visibility_rules

    @property
    def rules(self) -> dict[str, np.ndarray]:
        """Rule name -> bool [N, T], True where that rule hides the frame, over every query of the refine."""
        if not self._chunks:
            return {}
        return {name: np.concatenate([chunk[name] for chunk in self._chunks]) for name in self._chunks[0]}

    def restore(self) -> None:
        FlowFusion.visibility_rules, FlowFusion._refine_chunk = self._original_rules, self._original_chunk


def main(argv: list[str] | None = None) -> int:
    parser = suite_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", default=[], help='NAME={"setting": value, ...}; fusion settings, '
                        'and flow settings as "flow.NAME"; repeat for more')
    parser.add_argument("--no-chained", action="store_true", help="leave out the chained-flow baseline")
    parser.add_argument("--rules", action="store_true", help="score each visibility rule against ground truth")
    args = parser.parse_args(argv)
    try:
        variants = dict(parse_variant(text) for text in (args.variant or ["now={}"]))
    except InputError as error:
        print(f"fusion_levers: error: {error}", file=sys.stderr)
        return 2
    clips = chosen_clips(args, "fusion_levers")
    if clips is None:
        return 2
    run = run_preset("default")
    rule_totals: dict[str, dict[str, list[int]]] = {}
    returned_totals: dict[str, list[int]] = {}  # variant -> [returned visible frames, within WITHIN_PX, called visible]
    shown_totals: dict[str, list[int]] = {}  # variant -> [frames it shows that the first variant hides, visible, and within]
    table: dict[str, dict[str, tuple[float, float, float, float]]] = {}
    for spec in clips:
        clip = prepare_clip(spec)
        points = query_sets(clip, ("strided",), long_range=False)["strided"]
        frames, (height, width) = len(clip.video), clip.video.shape[1:3]
        index = points.queries[:, 0].astype(int)
        xy = points.queries[:, 1:].astype(np.float64)
        others = np.ones((len(index), frames), bool)
        others[np.arange(len(index)), index] = False
        if not args.no_chained:
            row = evaluate(clip, "chained-flow")
            table.setdefault(spec.name, {})["chained flow"] = (row["AJ"], row["OA"], row["TC"], row["seconds"])
        first_visible = None
        for name, overrides in variants.items():
            flow_settings = {k[len("flow."):]: v for k, v in overrides.items() if k.startswith("flow.")}
            fusion_settings = {k: v for k, v in overrides.items() if not k.startswith("flow.")}
            correspondences = compute_correspondences(clip.video, run.flow.with_overrides(flow_settings),
                                                      flow_cache_folder(Path(args.cache), spec.name, flow_settings))
            recorder = RuleRecorder() if args.rules else None
            start = time.perf_counter()
            fusion = FlowFusion(correspondences, run.fusion.without_model().with_overrides(fusion_settings), clip.video)
            tracks, visible = fusion.refine(index, np.repeat(xy[:, None], frames, axis=1), np.ones((len(index), frames), bool))
            seconds = time.perf_counter() - start
            if recorder is not None:
                recorder.restore()
                for rule, hides in recorder.rules.items():
                    hides = hides & others
                    totals = rule_totals.setdefault(name, {}).setdefault(rule, [0, 0, 0])
                    totals[0] += int((hides & ~points.visible).sum())
                    totals[1] += int((hides & points.visible).sum())
                    totals[2] += int((~points.visible & others).sum())
            returned = points.visible & others & ~query_run(points.visible, index)
            error = np.linalg.norm(tracks - points.tracks, axis=-1) * 256 / max(width, height)
            totals = returned_totals.setdefault(name, [0, 0, 0])
            totals[0] += int(returned.sum())
            totals[1] += int((returned & (error < WITHIN_PX)).sum())
            totals[2] += int((returned & visible).sum())
            if first_visible is None:
                first_visible = visible
            shown = visible & ~first_visible & others
            totals = shown_totals.setdefault(name, [0, 0, 0])
            totals[0] += int(shown.sum())
            totals[1] += int((shown & points.visible).sum())
            totals[2] += int((shown & points.visible & (error < WITHIN_PX)).sum())
            metrics = all_metrics(points.queries, points.tracks, points.visible, tracks, visible, (width, height), "strided")
            table.setdefault(spec.name, {})[name] = (metrics["AJ"], metrics["OA"], metrics["TC"], seconds)
            print(f"{spec.name:20s} {name:16s} AJ {metrics['AJ']:5.1f} OA {metrics['OA']:5.1f} TC {metrics['TC']:.2f} "
                  f"fusion {seconds:.1f} s", flush=True)
    columns = list(next(iter(table.values())).keys()) if table else []
    print("\n| clip | " + " | ".join(columns) + " |\n|" + "---|" * (len(columns) + 1))
    for clip_name, row in table.items():
        print(f"| {clip_name} | " + " | ".join(f"{row[c][0]:.1f} / {row[c][1]:.1f}" for c in columns) + " |")
    print("| mean AJ / OA / TC | " + " | ".join(
        "{:.1f} / {:.1f} / {:.2f}".format(*(np.mean([row[c][k] for row in table.values()]) for k in range(3)))
        for c in columns) + " |")
    print(f"\nvisible frames after the point was hidden or left the image and came back (query frames excluded)\n\n"
          f"| variant | frames | within {WITHIN_PX:g} px | called visible |\n|---|---|---|---|")
    for name, (frames_back, within, called) in returned_totals.items():
        print(f"| {name} | {frames_back:,} | {within / max(frames_back, 1):.1%} | {called / max(frames_back, 1):.1%} |")
    print(f"\nframes each variant calls visible that the first ({next(iter(variants))}) hides (query frames excluded)\n\n"
          f"| variant | frames | visible | visible and within {WITHIN_PX:g} px |\n|---|---|---|---|")
    for name, (frames_shown, truly, within) in list(shown_totals.items())[1:]:
        print(f"| {name} | {frames_shown:,} | {truly / max(frames_shown, 1):.1%} | {within / max(frames_shown, 1):.1%} |")
    for name, rules in rule_totals.items():
        print(f"\nvisibility rules, {name} (a frame is hidden where a rule fails): | rule | hides | of them visible | occluded precision | occluded recall |")
        for rule, (right, wrong, occluded) in rules.items():
            print(f"| {rule} | {right + wrong} | {wrong} | {right / max(right + wrong, 1):.3f} | {right / max(occluded, 1):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
