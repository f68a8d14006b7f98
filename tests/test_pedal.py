"""Sustain-pedal analysis (notebook 05): press lengths in seconds through the tempo map, runs of a pedal
column in a generated matrix, and their summary."""

import math

import numpy as np
import pytest

from midibytes import cc, off, on, smf, tempo, track
from musicstyle.core import pedal
from musicstyle.core.midi import read_midi
from musicstyle.core.roll import FULL88, PAPER


def _pedalled():
    """Half a second a beat until tick 960 (1 s), then a second a beat. Sustain down 0-960 (1 s), 1920-3360
    (3 s; 64 again at 2880 keeps it down) and from 3840 to the end at 4320 (1 s); 63 at 1440 is up, so no
    press. Soft pedal down 960-1440 (1 s)."""
    return read_midi(smf(track([
        (0, tempo(500_000)), (0, on(60, 80)), (0, cc(64, 127)),
        (960, cc(64, 0)), (0, cc(67, 64)), (0, tempo(1_000_000)),
        (480, cc(67, 10)), (0, cc(64, 63)),
        (480, cc(64, 100)), (960, cc(64, 64)), (480, cc(64, 20)),
        (480, cc(64, 127)), (480, off(60)),
    ])), name="pedalled.mid")


def test_press_lengths_follow_the_tempo_map_and_a_press_still_down_ends_with_the_piece():
    perf = _pedalled()
    assert pedal.press_lengths(perf) == pytest.approx([1.0, 3.0, 1.0])
    assert pedal.press_lengths(perf, 67) == pytest.approx([1.0])
    assert pedal.press_lengths(perf, 66).shape == (0,)  # no sostenuto pedal


def test_press_lengths_of_the_first_seconds_are_cut_there():
    perf = _pedalled()  # sustain presses 0-1 s, 3-6 s and 7-8 s
    assert pedal.press_lengths(perf, seconds=4.0) == pytest.approx([1.0, 1.0])  # the second cut at 4 s
    assert pedal.press_lengths(perf, seconds=0.5) == pytest.approx([0.5])
    assert pedal.press_lengths(perf, seconds=100.0) == pytest.approx(pedal.press_lengths(perf))


def test_press_lengths_of_several_pieces_are_concatenated_and_of_none_empty():
    perf = _pedalled()
    assert pedal.press_lengths_of([perf, perf]) == pytest.approx([1.0, 3.0, 1.0] * 2)
    assert pedal.press_lengths_of([]).shape == (0,)


def test_held_lengths_are_the_runs_of_a_column_including_one_at_either_edge():
    assert pedal.held_lengths(np.array([1, 1, 0, 0, 1, 0, 1, 1, 1]), 0.25) == pytest.approx([0.5, 0.25, 0.75])
    assert pedal.held_lengths(np.zeros(5), 0.25).shape == (0,)


@pytest.mark.parametrize("layout", [PAPER, FULL88])
def test_generated_press_lengths_read_the_sustain_column_after_the_keys(layout):
    matrix = np.zeros((8, layout.columns), np.float32)
    matrix[2:6, layout.keys] = 1  # sustain: four steps
    matrix[:, 0] = 1  # a key held throughout is not a pedal
    matrix[1:3, layout.keys + 1] = 1  # soft pedal: two steps
    assert pedal.generated_press_lengths(matrix, layout, steps_per_second=4) == pytest.approx([1.0])
    assert pedal.generated_press_lengths(matrix, layout, steps_per_second=4, number=67) == pytest.approx([0.5])


def test_summary_of_press_lengths_and_of_none():
    s = pedal.summary(np.array([1.0, 3.0, 1.0, 0.5]))
    assert s == pytest.approx({"presses": 4, "median_s": 1.0, "mean_s": 1.375, "p90_s": 2.4, "over_2s": 0.25})
    empty = pedal.summary(np.zeros(0))
    assert empty["presses"] == 0 and all(math.isnan(empty[k]) for k in ("median_s", "mean_s", "p90_s", "over_2s"))
