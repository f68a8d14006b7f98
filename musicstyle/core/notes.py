"""The notes of a performance as a sequence of feature rows: where, when and how long each note was
played, and how the pedals stood, but never how hard.

Taught in ``notebooks/02_velocity_cnn.ipynb``: the improved velocity model is a dilated CNN over
this sequence (one row per note, in the order of ``Performance.notes``: by onset, then pitch).
Nothing here reads a velocity, so the model predicts dynamics "from the notes alone", as they were
timed and pedalled.

A chord is a run of onsets each at most :data:`CHORD_WINDOW_S` after the previous one
(:func:`chord_ids`, shared by the velocity models and the dynamics judge). Times are in seconds
through the whole tempo map. :data:`NOTE_FEATURES` in order:

* ``pitch`` (MIDI number; first, so that a row of zeros is padding), ``chord_size``, ``top`` / ``bottom`` (1 for the highest / lowest note
  of its chord, also for a single note);
* ``lead_s``: seconds after the chord's first onset (0-0.1; pianists play a melody note early);
* ``log_duration_s``; ``log_gap_before_s`` / ``log_gap_after_s`` between the chord's onset and the
  previous / next chord's (10 s at the ends);
* ``log_notes_1s`` / ``log_notes_4s``: log(1 + onsets within 1 / 4 s either side);
* ``log_sounding``: log(1 + notes still sounding when the note starts);
* ``sustain`` / ``soft``: CC64 / CC67 value / 127 in effect at the onset (half pedal included);
* ``position``: onset / last onset of the piece (0-1);
* ``pitch_minus_mean_2s``: pitch minus the mean pitch of onsets within 2 s either side;
* ``pitch_minus_max_1s``: pitch minus the highest pitch struck within 1 s either side (0: on top);
* ``pitch_minus_chord_top`` / ``pitch_minus_chord_bottom``.
"""

from __future__ import annotations

import numpy as np

from .midi import Performance

#: Onsets closer than this to the previous onset belong to the same chord (seconds).
CHORD_WINDOW_S = 0.03

NOTE_FEATURES = (
    "pitch", "chord_size", "top", "bottom", "lead_s", "log_duration_s", "log_gap_before_s", "log_gap_after_s",
    "log_notes_1s", "log_notes_4s", "log_sounding", "sustain", "soft", "position", "pitch_minus_mean_2s",
    "pitch_minus_max_1s", "pitch_minus_chord_top", "pitch_minus_chord_bottom",
)
#: Gap given to the first chord's "before" and the last chord's "after" (seconds).
END_GAP_S = 10.0


def chord_ids(onsets_s: np.ndarray, window: float = CHORD_WINDOW_S) -> np.ndarray:
    """Chord id (0, 1, ...) of each onset time in seconds (sorted): a gap over ``window`` starts a new chord.

    Args:
        onsets_s: onset times in seconds, in order.
        window: largest gap (seconds) between two onsets of one chord.

    Returns:
        int64 array, one id per onset.
    """
    onsets_s = np.asarray(onsets_s, np.float64)
    if onsets_s.size == 0:
        return np.zeros(0, np.int64)
    return np.concatenate([[0], np.cumsum(np.diff(onsets_s) > window)]).astype(np.int64)


def _window_counts(t: np.ndarray, half: float) -> np.ndarray:
    return np.searchsorted(t, t + half, side="right") - np.searchsorted(t, t - half, side="left")


def _window_max(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max(values[lo[i]:hi[i]]) for every i (each range non-empty), by a sparse table."""
    table = [values]
    while (1 << len(table)) <= len(values):
        prev, step = table[-1], 1 << (len(table) - 1)
        table.append(np.maximum(prev[:-step], prev[step:]))
    level = np.floor(np.log2(np.maximum(hi - lo, 1))).astype(np.int64)
    out = np.empty(len(lo), values.dtype)
    for k in np.unique(level):
        sel = level == k
        out[sel] = np.maximum(table[k][lo[sel]], table[k][hi[sel] - (1 << k)])
    return out


def _pedal_at(perf: Performance, number: int, ticks: np.ndarray) -> np.ndarray:
    ev = perf.pedal(number)
    if not len(ev):
        return np.zeros(len(ticks))
    i = np.searchsorted(ev["tick"], ticks, side="right") - 1
    return np.where(i >= 0, ev["value"][np.maximum(i, 0)], 0) / 127.0


def note_features(perf: Performance) -> np.ndarray:
    """The feature rows of a performance's notes (see the module docstring; never a velocity).

    Args:
        perf: the performance.

    Returns:
        ``(notes, len(NOTE_FEATURES))`` float32, one row per row of ``perf.notes`` (same order).
    """
    notes = perf.notes
    n = len(notes)
    out = np.zeros((n, len(NOTE_FEATURES)), np.float32)
    if n == 0:
        return out
    start = perf.seconds(notes["start"]).astype(np.float64)
    end = perf.seconds(notes["end"]).astype(np.float64)
    pitch = notes["pitch"].astype(np.float64)
    chord = chord_ids(start)
    firsts = np.flatnonzero(np.r_[True, chord[1:] != chord[:-1]])
    size = np.diff(np.r_[firsts, n])
    top_pitch = np.maximum.reduceat(pitch, firsts)[chord]
    bottom_pitch = np.minimum.reduceat(pitch, firsts)[chord]
    onset = start[firsts]
    gap_before = np.diff(onset, prepend=onset[0] - END_GAP_S)[chord]
    gap_after = np.diff(onset, append=onset[-1] + END_GAP_S)[chord]
    ends_sorted = np.sort(end)
    sounding = np.searchsorted(start, start, side="left") - np.searchsorted(ends_sorted, start, side="right")
    cum = np.r_[0.0, np.cumsum(pitch)]
    lo2, hi2 = np.searchsorted(start, start - 2, side="left"), np.searchsorted(start, start + 2, side="right")
    lo1, hi1 = np.searchsorted(start, start - 1, side="left"), np.searchsorted(start, start + 1, side="right")
    columns = {
        "pitch": pitch,
        "chord_size": size[chord],
        "top": pitch == top_pitch,
        "bottom": pitch == bottom_pitch,
        "lead_s": np.clip(start - onset[chord], 0.0, 0.1),
        "log_duration_s": np.log(np.clip(end - start, 1e-3, 30.0)),
        "log_gap_before_s": np.log(np.clip(gap_before, 1e-3, END_GAP_S)),
        "log_gap_after_s": np.log(np.clip(gap_after, 1e-3, END_GAP_S)),
        "log_notes_1s": np.log1p(_window_counts(start, 1.0)),
        "log_notes_4s": np.log1p(_window_counts(start, 4.0)),
        "log_sounding": np.log1p(np.maximum(sounding, 0)),
        "sustain": _pedal_at(perf, 64, notes["start"]),
        "soft": _pedal_at(perf, 67, notes["start"]),
        "position": start / max(float(start[-1]), 1e-3),
        "pitch_minus_mean_2s": pitch - (cum[hi2] - cum[lo2]) / (hi2 - lo2),
        "pitch_minus_max_1s": pitch - _window_max(pitch, lo1, hi1),
        "pitch_minus_chord_top": pitch - top_pitch,
        "pitch_minus_chord_bottom": pitch - bottom_pitch,
    }
    for j, name in enumerate(NOTE_FEATURES):
        out[:, j] = columns[name]
    return out


def statistics(features: np.ndarray) -> np.ndarray:
    """Mean and standard deviation of each note feature over a piece, shape ``(2 * len(NOTE_FEATURES),)``."""
    if len(features) == 0:
        return np.zeros(2 * len(NOTE_FEATURES), np.float32)
    f = features.astype(np.float64)
    return np.concatenate([f.mean(0), f.std(0)]).astype(np.float32)
