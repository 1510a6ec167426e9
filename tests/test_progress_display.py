"""Progress for people and for logs (omnimotion_vfx/progress.py, progress_eta.py): which reporter a command gets,
how few lines a log gets, the daemon's events relayed, and the overall ETA across stages."""

from __future__ import annotations

import io
import json

import pytest

from omnimotion_vfx.progress import JsonLinesProgress, LogProgress, TqdmProgress, for_terminal, part_of
from omnimotion_vfx.progress_eta import PIN_PLAN, STAGE_WEIGHTS, TRACK_PLAN, OverallEta


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_for_terminal_gives_json_lines_a_bar_at_a_terminal_and_log_lines_elsewhere():
    assert isinstance(for_terminal(True, io.StringIO()), JsonLinesProgress)
    assert isinstance(for_terminal(False, _Terminal()), TqdmProgress)
    assert isinstance(for_terminal(False, io.StringIO()), LogProgress)


def test_a_log_gets_a_line_per_stage_start_and_end_and_no_carriage_returns():
    log = io.StringIO()
    progress = LogProgress(log, interval=3600.0, plan=PIN_PLAN)
    for stage, total in (("read", 36), ("flow", 308), ("fit", 2000), ("motion field", 1), ("pin", 36)):
        progress.begin(stage, total)
        for step in range(1, total + 1):
            progress.update(step, loss=0.5)
        progress.end()
    progress.warn("NaN pixels replaced in frames 1012-1014")
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and len(lines) == 11, text
    assert lines[0] == "omnivfx: read: started, 36 steps"
    assert lines[3].startswith("omnivfx: flow: done, 308 steps in ")
    assert lines[-1] == "omnivfx: warning: NaN pixels replaced in frames 1012-1014"


def test_a_log_line_between_start_and_end_once_the_interval_has_passed():
    log = io.StringIO()
    progress = LogProgress(log, interval=0.0)
    progress.begin("fit", 4)
    progress.update(2, loss=0.25)
    line = log.getvalue().splitlines()[-1]
    assert line.startswith("omnivfx: fit: 2/4 (50%), elapsed ") and "loss 0.25" in line and ", eta " in line


def test_the_daemons_events_relayed_into_a_log_and_into_json_lines():
    events = [{"job_id": "j1", "state": "queued", "stage": "", "step": 0, "total": 0, "eta": None},
              {"job_id": "j1", "state": "running", "stage": "fit", "step": 0, "total": 10, "eta": None, "eta_total": None},
              {"job_id": "j1", "state": "running", "stage": "fit", "step": 5, "total": 10, "eta": 3.0, "eta_total": 9.0},
              {"job_id": "j1", "state": "running", "stage": "fit", "step": 10, "total": 10, "eta": 0.0, "eta_total": 4.0,
               "done": True},
              {"job_id": "j1", "state": "running", "stage": "queries", "step": 0, "total": 400, "eta": None, "eta_total": None}]
    log = io.StringIO()
    view = LogProgress(log, interval=3600.0)
    for event in events:
        view.relay(event)
    assert log.getvalue().splitlines() == [
        "omnivfx: fit: started, 10 steps", "omnivfx: fit: done, 10 steps in 0s, all stages eta 4s",
        "omnivfx: queries: started, 400 steps"]
    out = io.StringIO()
    view = JsonLinesProgress(out, min_interval=0.0)
    for event in events:
        view.relay(event)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == events


def test_overall_eta_adds_the_stages_to_come_at_this_runs_pace_and_falls_as_they_run():
    clock = _Clock()
    eta = OverallEta(TRACK_PLAN, clock)
    off = {"read": 1.3, "flow": 1.2, "fit": 0.8, "queries": 1.1}  # the weights' proportions +-30%
    durations = tuple((stage, 2.0 * STAGE_WEIGHTS[stage] * off[stage]) for stage in TRACK_PLAN)
    seen, truth = [], []
    for index, (stage, seconds) in enumerate(durations):
        eta.begin(stage)
        for k in range(1, 11):
            clock.now += seconds / 10
            seen.append(eta.seconds_left(k, 10, stage_eta=seconds * (10 - k) / 10))
            truth.append(seconds * (10 - k) / 10 + sum(s for _, s in durations[index + 1:]))
        eta.end()
    assert seen[0] is None  # 0.26 s into the run: nothing measured yet
    known = [(s, t) for s, t in zip(seen, truth) if s is not None]
    assert known and known[-1][0] == 0.0
    assert all(t / 2 <= s <= 2 * t + 1.0 for s, t in known), known  # rough, but within a factor of two
    estimates = [s for s, _ in known]
    assert all(later <= 1.3 * earlier for earlier, later in zip(estimates, estimates[1:])), estimates


def test_overall_eta_says_nothing_before_any_stage_has_run_long_enough_to_measure():
    clock = _Clock()
    eta = OverallEta(TRACK_PLAN, clock)
    eta.begin("read")
    clock.now += 0.1
    assert eta.seconds_left(1, 36, stage_eta=3.5) is None
    assert OverallEta(TRACK_PLAN, clock).seconds_left(0, 10, None) is None


def test_overall_eta_drops_stages_a_cache_skipped_and_says_nothing_for_unknown_stages_to_come():
    clock = _Clock()
    eta = OverallEta(("read", "flow", "fit", "queries"), clock)
    eta.begin("fit")  # read and flow never began: reloaded from the results folder
    clock.now += 16.0
    left = eta.seconds_left(60, 120, stage_eta=16.0)
    pace = 16.0 / (STAGE_WEIGHTS["fit"] / 2)  # seconds per unit of weight: half the fit took 16 s
    assert left == pytest.approx(16.0 + STAGE_WEIGHTS["queries"] * pace)
    unknown = OverallEta(("fit", "solve something new"), clock)
    unknown.begin("fit")
    clock.now += 5.0
    assert unknown.seconds_left(5, 10, stage_eta=5.0) is None


def test_part_of_maps_a_sub_steps_fraction_onto_the_callers():
    heard = []
    inner = part_of(heard.append, 0.2, 0.6)
    inner(0.0)
    inner(0.5)
    inner(1.0)
    assert heard == pytest.approx([0.2, 0.4, 0.6]) and part_of(None, 0, 1) is None


def test_a_batch_log_gets_a_line_per_shot_stage_start_and_end_and_each_finished_shot():
    from omnimotion_vfx.batch.display import LogBatchView, TerminalBatchView, stderr_view

    assert isinstance(stderr_view(2, _Terminal()), TerminalBatchView)
    log = io.StringIO()
    view = stderr_view(2, log)
    assert isinstance(view, LogBatchView)
    for shot in ("sh010", "sh020"):
        view({"type": "start", "shot": shot, "attempt": 1})
        for step in range(0, 101):
            view({"type": "progress", "shot": shot, "attempt": 1, "stage": "fit", "step": step, "total": 100,
                  "eta": 1.0, "eta_total": 2.0})
        view({"type": "warning", "shot": shot, "message": "NaN pixels replaced"})
        view({"type": "shot", "shot": shot, "status": "done", "message": ""})
    view.close()
    assert log.getvalue().splitlines()[:4] == [
        "sh010: fit: started, 100 steps", "sh010: fit: done, all stages eta 2s",
        "omnivfx: sh010: NaN pixels replaced", "sh010: done (1/2 shots)"]
    assert len(log.getvalue().splitlines()) == 8 and "\r" not in log.getvalue()
