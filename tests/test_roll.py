"""Piano-roll matrices on a tiny piece built in code: exact arrays."""

import numpy as np
import pytest

from midibytes import cc, off, on, smf, tempo, track
from musicstyle.errors import MusicstyleError
from musicstyle.core.midi import read_midi
from musicstyle.core.roll import (FULL88, KEYS_ONLY, MAX_STEPS, PAPER, Layout, pedal_presses, piano_roll, piano_rolls, rollable,
                                  segments, step_of)

# 480 ticks per quarter, 8 steps per beat: one step is 60 ticks
PIECE = smf(track([
    (0, tempo(500_000)), (0, on(60, 100)), (120, cc(64, 100)), (120, on(64, 80)),
    (240, off(60)), (0, off(64)), (0, on(100, 70)), (120, cc(64, 20)), (0, off(100)), (30, on(32, 5)), (60, off(32)),
]))


def col(pitch, layout=PAPER):
    return pitch - layout.low


def test_layouts():
    assert PAPER.columns == 59 and PAPER.keys == 57
    assert FULL88.columns == 90 and FULL88.keys == 88
    assert KEYS_ONLY.columns == 57
    assert PAPER.column_names()[0] == "32" and PAPER.column_names()[-2:] == ["CC64", "CC67"]
    assert Layout.from_dict(PAPER.to_dict()) == PAPER


def test_step_rounds_half_up():
    assert step_of([0, 29, 30, 59, 60, 90], 480, 8).tolist() == [0, 0, 1, 1, 1, 2]


def test_exact_matrices():
    roll = piano_roll(read_midi(PIECE), PAPER)
    # notes: 60 at 0-480 (steps 0-8), 64 at 240-480 (4-8), 100 out of range, 32 at 630-690 (step 10.5->11 .. 11.5->12)
    assert roll.steps == 12 + 1
    expected_onset = np.zeros((13, 59), np.uint8)
    expected_onset[0, col(60)] = expected_onset[4, col(64)] = expected_onset[11, col(32)] = 1
    expected_onset[2, 57] = 1  # sustain pressed at tick 120
    np.testing.assert_array_equal(roll.onset, expected_onset)
    held = np.zeros((13, 59), np.uint8)
    held[0:8, col(60)] = 1
    held[4:8, col(64)] = 1
    held[11:12, col(32)] = 1
    held[2:10, 57] = 1  # sustain down from tick 120 to 600
    np.testing.assert_array_equal(roll.held, held)
    assert roll.velocity[0, col(60)] == 100 and roll.velocity[4, col(64)] == 80 and roll.velocity[11, col(32)] == 5
    assert roll.velocity[2, 57] == 100  # the pedal's controller value at the press
    assert roll.velocity.sum() == 100 + 80 + 5 + 100
    assert roll.held[:, 58].sum() == 0  # no soft pedal


def test_full88_keeps_the_high_note():
    roll = piano_roll(read_midi(PIECE), FULL88)
    assert roll.onset[8, col(100, FULL88)] == 1 and roll.velocity[8, col(100, FULL88)] == 70


def test_two_strikes_in_one_cell_keep_the_louder():
    data = smf(track([(0, on(60, 40)), (10, off(60)), (0, on(60, 90)), (10, off(60))]))
    roll = piano_roll(read_midi(data), PAPER)
    assert roll.velocity[0, col(60)] == 90 and roll.onset.sum() == 1


def test_grid_follows_ticks_through_tempo_changes():
    data = smf(track([(0, tempo(500_000)), (0, on(60, 90)), (480, tempo(1_000_000)), (0, off(60)), (0, on(62, 90)), (480, off(62))]))
    roll = piano_roll(read_midi(data), PAPER)
    assert roll.held[:, col(60)].sum() == 8 and roll.held[:, col(62)].sum() == 8


def test_pedal_still_down_at_the_end_ends_with_the_piece():
    data = smf(track([(0, on(60, 90)), (0, cc(64, 127)), (480, off(60))]))
    perf = read_midi(data)
    assert pedal_presses(perf).tolist() == [[0, 480]]


def test_segments_pad_and_hop():
    m = np.arange(10)[:, None] * np.ones((1, 2), int)
    s = segments(m, 4)
    assert s.shape == (3, 4, 2)
    assert s[2, :, 0].tolist() == [8, 9, 0, 0]
    assert segments(m, 4, hop=2, pad=False)[:, 0, 0].tolist() == [0, 2, 4, 6]
    assert segments(m[:3], 4).shape == (1, 4, 2)


def test_piano_rolls_in_parallel_equal_one_by_one():
    perfs = [read_midi(PIECE), read_midi(PIECE)]
    for a, b in zip(piano_rolls(perfs, PAPER, workers=2), [piano_roll(p) for p in perfs]):
        np.testing.assert_array_equal(a.held, b.held)
        np.testing.assert_array_equal(a.velocity, b.velocity)


def test_no_note_in_range_is_an_error_or_an_empty_roll():
    perf = read_midi(smf(track([(0, on(100, 80)), (480, off(100))])))
    with pytest.raises(MusicstyleError, match="no notes in the key range 32-88"):
        piano_roll(perf, PAPER)
    roll = piano_roll(perf, PAPER, require_notes=False)
    assert roll.steps == 9 and not roll.onset.any() and not roll.velocity.any()


def test_rollable_keeps_what_every_layout_can_make_matrices_of_and_says_why_not():
    from musicstyle.data import Piece

    high = read_midi(smf(track([(0, on(100, 80)), (480, off(100))])), name="high")
    long = read_midi(smf(track([(0, on(60, 80)), (60 * MAX_STEPS, off(60))])), name="long")
    pieces = [Piece(n, "jazz", f"jazz/{n}.mid", p) for n, p in (("ok", read_midi(PIECE)), ("high", high), ("long", long))]
    kept, left_out = rollable(pieces, PAPER)
    assert [p.name for p in kept] == ["ok"] and left_out == {
        "jazz/high.mid": "no notes in the key range 32-88",
        "jazz/long.mid": f"too long for a matrix: {MAX_STEPS + 1} steps (limit {MAX_STEPS})"}
    assert rollable([high], FULL88) == ([high], {})  # performances too, keyed by name
    assert rollable([high], FULL88, PAPER)[1] == {"high": "no notes in the key range 32-88"}
    for p in pieces[1:]:  # piano_roll refuses them with the same reasons
        with pytest.raises(MusicstyleError) as err:
            piano_roll(p.performance, PAPER)
        assert err.value.reason == left_out[p.path]
