"""Note features of the improved velocity model: exact rows of tiny pieces built in code."""

import numpy as np

from midibytes import cc, off, on, smf, tempo, track
from musicstyle.core.midi import read_midi
from musicstyle.core.notes import NOTE_FEATURES, note_features, statistics


def column(features, name):
    return features[:, NOTE_FEATURES.index(name)]


def test_every_feature_of_a_tiny_piece():
    # 480 ticks per quarter; 120 qpm, then 150 qpm from tick 480: onsets at 0, 0, 0, .25, .5, .9 s
    ev = [(0, tempo(500_000)), (0, cc(64, 127)), (0, on(60, 80)), (0, on(48, 50)), (0, on(100, 33)),
          (240, off(60)), (0, on(64, 90)), (240, off(64)), (0, off(48)), (0, tempo(400_000)),
          (0, on(60, 70)), (120, cc(64, 0)), (360, off(60)), (0, off(100)), (0, on(72, 20)), (480, off(72))]
    perf = read_midi(smf(track(ev)))
    f = note_features(perf)
    assert f.shape == (6, len(NOTE_FEATURES)) and f.dtype == np.float32
    pitch = [48, 60, 100, 64, 60, 72]  # by onset, then pitch
    expected = {
        "pitch": pitch,
        "chord_size": [3, 3, 3, 1, 1, 1],
        "top": [0, 0, 1, 1, 1, 1],
        "bottom": [1, 0, 0, 1, 1, 1],
        "lead_s": [0] * 6,
        "log_duration_s": np.log([0.5, 0.25, 0.9, 0.25, 0.4, 0.4]),
        "log_gap_before_s": np.log([10, 10, 10, 0.25, 0.25, 0.4]),
        "log_gap_after_s": np.log([0.25, 0.25, 0.25, 0.25, 0.4, 10]),
        "log_notes_1s": np.log([7] * 6),
        "log_notes_4s": np.log([7] * 6),
        "log_sounding": np.log1p([0, 0, 0, 2, 1, 0]),
        "sustain": [1, 1, 1, 1, 1, 0],  # released at tick 600, before the last onset
        "soft": [0] * 6,
        "position": [0, 0, 0, 0.25 / 0.9, 0.5 / 0.9, 1],
        "pitch_minus_mean_2s": np.array(pitch) - np.mean(pitch),
        "pitch_minus_max_1s": np.array(pitch) - 100,
        "pitch_minus_chord_top": [-52, -40, 0, 0, 0, 0],
        "pitch_minus_chord_bottom": [0, 12, 52, 0, 0, 0],
    }
    assert set(expected) == set(NOTE_FEATURES)
    for name, values in expected.items():
        np.testing.assert_allclose(column(f, name), values, rtol=1e-5, atol=1e-6, err_msg=name)
    s = statistics(f)
    assert s.shape == (2 * len(NOTE_FEATURES),)
    np.testing.assert_allclose(s[: len(NOTE_FEATURES)], f.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s[len(NOTE_FEATURES) :], f.std(0), rtol=1e-4, atol=1e-6)


def test_lead_half_pedal_and_local_windows():
    # a melody note 10 ticks (10.4 ms) after its chord, a half-pressed soft pedal, a note 3 s later
    ev = [(0, cc(67, 64)), (0, on(48, 60)), (0, on(55, 60)), (10, on(76, 90)), (470, off(48)), (0, off(55)),
          (0, off(76)), (2400, on(50, 40)), (480, off(50))]
    f = note_features(read_midi(smf(track(ev))))
    np.testing.assert_allclose(column(f, "lead_s"), [0, 0, 10 / 960, 0], rtol=1e-5)
    np.testing.assert_allclose(column(f, "chord_size"), [3, 3, 3, 1])
    np.testing.assert_allclose(column(f, "soft"), [64 / 127] * 4, rtol=1e-6)
    np.testing.assert_allclose(column(f, "log_notes_1s"), np.log1p([3, 3, 3, 1]))
    np.testing.assert_allclose(column(f, "log_notes_4s"), np.log1p([4, 4, 4, 4]))
    # the note 3 s later is alone within 1 and 2 s: on top of itself, at its own mean
    np.testing.assert_allclose(column(f, "pitch_minus_max_1s"), [48 - 76, 55 - 76, 0, 0])
    np.testing.assert_allclose(column(f, "pitch_minus_mean_2s"), [48 - 59.666667, 55 - 59.666667, 76 - 59.666667, 0], rtol=1e-5)


def test_no_notes_gives_no_rows():
    from musicstyle.core.midi import Performance, NOTE_DTYPE

    perf = Performance("empty", 480, np.zeros(0, NOTE_DTYPE))
    assert note_features(perf).shape == (0, len(NOTE_FEATURES))
    assert not statistics(note_features(perf)).any()
