"""What bridging the hidden frames buys (the fusion's last pass, fusion/hidden_bridge.py), on the rendered suite.

Each tracker runs once per clip with the bridge off (`fusion.bridge_hidden: false`); its answers are scored as
they are and bridged at each `--pull`: along a straight path ("bridged") and, with a fit, along the model's own
tracks ("along model": the offset from the model's track is bridged, what the fusion does where a fit stands
behind it; without one the fusion's "model" is the query's position and both are the same). The bridge is the
fusion's last step, keeps visible frames and visibility, and commutes with the plate's per-axis pixel scaling,
so bridging the answers is exactly the pass run on the same fit: with and without on identical tracks, chained
flow measured in the same run. AJ and OA cannot move; <delta_avg, TC and the long clips' last-frame figures can.
The bridge's own seconds are printed beside the tracker's.

    .venv/bin/python benchmarks/hidden_bridge.py --out /tmp/bridge
    .venv/bin/python benchmarks/hidden_bridge.py --only long-sweep --trackers flow-fusion --pull 1e-3,1e-4
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from omnimotion_vfx.evaluation.runner import LAST, prepare_clip, query_sets, score_answers, track_sets  # noqa: E402
from omnimotion_vfx.fusion.hidden_bridge import bridge_hidden  # noqa: E402
from omnimotion_vfx.tracking.registry import environment_overrides  # noqa: E402
from suite_options import chosen_clips, suite_arguments  # noqa: E402  (this folder is on the path of a script run)

MODES = ("strided", "first")
FIGURES = ("AJ", "delta_avg", "OA", "TC")
LAST_FIGURES = ("delta_avg", "median_px", "visibility")


def bridged(answer: tuple[np.ndarray, np.ndarray, float], pull: float,
            guide: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """One tracker answer with its hidden frames bridged (along `guide`, the model's own tracks, where given), and
    the bridge's seconds."""
    tracks, visible, _ = answer
    start = time.perf_counter()
    out = bridge_hidden(torch.from_numpy(np.asarray(tracks, np.float64)), torch.from_numpy(np.asarray(visible, bool)), pull,
                        None if guide is None else torch.from_numpy(np.asarray(guide, np.float64)))
    return out.numpy(), visible, time.perf_counter() - start


def split_tracker(text: str) -> tuple[str, str]:
    name, _, preset = text.partition(":")
    return name, preset or "default"


def main() -> int:
    parser = suite_arguments(__doc__.split("\n\n")[0], cache=False)
    parser.add_argument("--trackers", default="flow-fusion,omnimotion:default",
                        help="trackers run with the bridge off and scored both ways (NAME or NAME:PRESET)")
    parser.add_argument("--pull", default="1e-4,1e-3", help="bridge pulls scored, comma-separated (the fusion's: 1e-4)")
    parser.add_argument("--baseline", default="chained-flow", help="measured in the same run ('' for none)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON rows")
    args = parser.parse_args()
    try:
        pulls = [float(p) for p in args.pull.split(",") if p]
    except ValueError:
        print(f"hidden_bridge: error: --pull takes numbers separated by commas, like 1e-4,1e-3; got {args.pull!r}", file=sys.stderr)
        return 2
    clips = chosen_clips(args, "hidden_bridge")
    if clips is None:
        return 2
    os.environ["OMNIVFX_ENGINE_OVERRIDES"] = json.dumps({**environment_overrides(), "fusion.bridge_hidden": False})
    rows: list[dict] = []
    for spec in clips:
        clip = prepare_clip(spec)
        sets = query_sets(clip, MODES)
        runs = ([(args.baseline, "default", False)] if args.baseline else []) + [(*split_tracker(t), True) for t in args.trackers.split(",")]
        for name, preset, with_bridge in runs:
            answers = track_sets(clip, name, sets, preset, model=with_bridge)
            variants = {"": answers[""]}
            if with_bridge:
                variants.update({f" bridged {pull:g}": bridged(answers[""], pull) for pull in pulls})
            if ":model" in answers:  # what the fusion does with a fit: the offset from the model's track bridged
                variants.update({f" along model {pull:g}": bridged(answers[""], pull, answers[":model"][0]) for pull in pulls})
                variants[" model alone"] = answers[":model"]
            label = name if preset == "default" else f"{name}:{preset}"
            for suffix, answer in variants.items():
                scored = score_answers(clip, label + suffix, sets, {"": answer})
                for mode, row in scored.items():
                    row["tracker_seconds"] = answers[""][2]
                    rows.append(row)
                    figures = (LAST_FIGURES if mode == LAST else FIGURES)
                    text = " / ".join(f"{row[f]:.3f}" if f == "TC" else f"{row[f]:.2f}" for f in figures)
                    print(f"{spec.name:20s} {label + suffix:34s} {mode:8s} {text}   {answer[2]:.2f} s", flush=True)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "rows.json").write_text(json.dumps(rows, indent=1))
    summary(rows)
    return 0


def summary(rows: list[dict]) -> None:
    """Means over the clips per tracker and mode (the last-frame figures per clip: few endpoints each)."""
    print("\nmeans over clips: AJ / <delta_avg / OA / TC, seconds (tracker, or bridge)")
    for mode in MODES:
        for tracker in dict.fromkeys(r["tracker"] for r in rows):
            got = [r for r in rows if r["tracker"] == tracker and r["mode"] == mode]
            if not got:
                continue
            means = " / ".join(f"{np.nanmean([r[f] for r in got]):.3f}" if f == "TC" else f"{np.nanmean([r[f] for r in got]):.2f}"
                               for f in FIGURES)
            print(f"  {mode:8s} {tracker:34s} {means}   {np.median([r['seconds'] for r in got]):.2f} s median ({len(got)} clips)")


if __name__ == "__main__":
    sys.exit(main())
