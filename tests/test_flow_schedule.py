"""Pair schedules: the log-spaced set grows as N log N, the exhaustive one as N(N-1)."""

import math

import pytest

from omnimotion_vfx.errors import InputError
from omnimotion_vfx.flow.config import FlowConfig
from omnimotion_vfx.flow.schedule import decompose_gap, pair_schedule, schedule_gaps


def test_log_gaps_are_powers_of_two_ending_on_the_last_frame():
    assert schedule_gaps(100, "log") == [1, 2, 4, 8, 16, 32, 64, 99]
    assert schedule_gaps(17, "log") == [1, 2, 4, 8, 16]
    assert schedule_gaps(100, "log", max_gap=20) == [1, 2, 4, 8, 16, 20]
    assert schedule_gaps(1, "log") == []


@pytest.mark.parametrize("frames", [2, 9, 33, 100, 250])
def test_schedule_sizes(frames):
    exhaustive = pair_schedule(frames, "exhaustive")
    log = pair_schedule(frames, "log")
    assert len(exhaustive) == frames * (frames - 1) == len(set(exhaustive))
    assert len(pair_schedule(frames, "adjacent")) == 2 * (frames - 1)
    assert len(set(log)) == len(log) and set(log) <= set(exhaustive)
    # both directions of every pair, and no more than 2 N (log2 N + 2) flows
    assert all((j, i) in set(log) for i, j in log)
    assert len(log) <= 2 * frames * (math.log2(frames) + 2)


def test_pairs_come_in_ascending_gap_order():
    gaps = [abs(j - i) for i, j in pair_schedule(40, "log")]
    assert gaps == sorted(gaps)


def test_decompose_gap_uses_shorter_scheduled_gaps():
    gaps = schedule_gaps(100, "log")
    assert decompose_gap(64, gaps) == [32, 32]
    assert decompose_gap(99, gaps) == [64, 32, 2, 1]
    assert decompose_gap(7, list(range(1, 8))) == [6, 1]


def test_unknown_schedule_is_an_input_error():
    with pytest.raises(InputError, match="pair schedule"):
        FlowConfig(pairs="all")
    with pytest.raises(InputError, match="flow preset"):
        FlowConfig.preset("ultra")
