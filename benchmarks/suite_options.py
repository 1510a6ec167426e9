"""What the suite benchmarks share (fusion_levers, position_limits, remaining_evidence, visibility_evidence):
one spelling of --suite, --only and --cache, one clip choice and its error, one per-clip progress line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.evaluation.suite import clips_matching, suite


def suite_arguments(description: str, cache: bool = True) -> argparse.ArgumentParser:
    """The options every suite benchmark here takes: --suite, --only and, for those on the presets' cached flow,
    --cache (shared, so each clip's flow is computed once for all of them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--suite", default="rendered")
    parser.add_argument("--only", default="", help="clips whose name contains one of these comma-separated parts")
    if cache:
        parser.add_argument("--cache", default=str(Path.home() / ".cache" / "omnimotion_vfx" / "fusion_levers"),
                            help="flow cache folder, shared by the suite benchmarks")
    return parser


def chosen_clips(args: argparse.Namespace, program: str) -> list | None:
    """The clips --suite and --only name, or None after a one-line error on stderr (the caller exits 2)."""
    try:
        return clips_matching(args.suite, args.only) if args.only else suite(args.suite)
    except InputError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        return None


def measure_suite(clips: list, measure: Callable[[object], dict], summary: Callable[[dict], str]) -> dict[str, dict]:
    """{clip name: measure(clip)}, one line per clip printed as it finishes (a suite run takes minutes a clip)."""
    results = {}
    for spec in clips:
        results[spec.name] = result = measure(spec)
        print(f"{spec.name:20s} {summary(result)}", flush=True)
    return results
