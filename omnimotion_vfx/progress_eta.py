"""One ETA for a whole run (read, flow, fit, motion field, queries, exports), not just the running stage.

The running stage's own ETA is measured (its elapsed time per step); the stages still to come are not running
yet, so their time is estimated from rough relative weights (`STAGE_WEIGHTS`) scaled by how many seconds per
unit of weight this run has taken so far. Stages that end almost at once (a cached flow, a reloaded fit) say
nothing about the machine's speed and are left out of that rate. Where a stage to come has no weight, or
nothing has run long enough to measure, the overall ETA is None: no number rather than a wrong one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

# Relative cost of each kind of stage, in seconds of `--preset preview` on the 36-frame 256x256 sample plate
# (samples/orbit) on 2 CPU cores: flow 6-8, fit 13-14, motion field 6, answering 400 queries 10.5, pinning
# 36 frames 1-2; the exports are a guess of the motion field's order. Rough on purpose: other presets, plates
# and devices shift them, and the overall ETA corrects itself as each stage runs.
STAGE_WEIGHTS: dict[str, float] = {
    "read": 1.0,
    "flow": 7.0,
    "fit": 14.0,
    "motion field": 6.0,
    "queries": 10.0,
    "export": 6.0,
    "pin": 2.0,
}
# The stages of each command, in order; a stage that never begins (skipped by a cache) drops out of the plan.
TRACK_PLAN = ("read", "flow", "fit", "queries")
TRACK_EXPORT_PLAN = TRACK_PLAN + ("motion field", "export")
EXPORT_PLAN = ("read", "flow", "fit", "motion field", "export")
PIN_PLAN = ("read", "flow", "fit", "motion field", "pin")
_EXPORT_STAGES = ("motion vectors", "stmap", "mattes", "qc overlay")
MEASURED_SECONDS = 1.0  # a stage shorter than this is a cache hit or too short to time the machine by


def stage_kind(stage: str) -> str:
    """The plan's name for a reporter stage: every exporter's stage ('stmap to frame 1001', ...) is 'export'."""
    return "export" if stage.startswith(_EXPORT_STAGES) else stage


@dataclass
class _Slot:
    kind: str
    weight: float | None  # None: a stage this module has no weight for


class OverallEta:
    """Follows a reporter's stages against a plan and estimates the seconds left for all of them."""

    def __init__(self, plan: Sequence[str] = TRACK_PLAN, clock=time.monotonic) -> None:
        self._pending = [_Slot(kind, STAGE_WEIGHTS.get(kind)) for kind in plan]
        self._clock = clock
        self._current: _Slot | None = None
        self._started = 0.0
        self._seconds = 0.0  # time and weight of the finished stages that ran long enough to measure
        self._weight = 0.0

    def begin(self, stage: str) -> None:
        self.end()
        kind = stage_kind(stage)
        index = next((i for i, slot in enumerate(self._pending) if slot.kind == kind), None)
        if index is None:  # a stage the plan did not name (a second export, say) costs what its kind costs
            self._current = _Slot(kind, STAGE_WEIGHTS.get(kind))
        else:  # planned stages before it never ran: they were skipped
            self._current = self._pending[index]
            del self._pending[: index + 1]
        self._started = self._clock()

    def end(self) -> None:
        if self._current is None:
            return
        took = self._clock() - self._started
        if self._current.weight and took >= MEASURED_SECONDS:
            self._seconds += took
            self._weight += self._current.weight
        self._current = None

    def seconds_left(self, step: int, total: int, stage_eta: float | None) -> float | None:
        """Seconds until the plan's last stage ends, given the running stage's step, total and own ETA."""
        if self._current is None or stage_eta is None or total <= 0:
            return None
        future = [slot.weight for slot in self._pending]
        if not future:
            return stage_eta
        if any(weight is None for weight in future):
            return None
        seconds, weight = self._seconds, self._weight
        running = self._clock() - self._started
        if self._current.weight and step > 0 and running >= MEASURED_SECONDS:
            seconds += running
            weight += self._current.weight * min(step, total) / total
        if weight <= 0:
            return None
        return stage_eta + sum(future) * seconds / weight  # type: ignore[arg-type]
