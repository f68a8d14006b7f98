"""How a piece's velocities relate to the notes they are played on: the features of the ``relations`` judge.

Taught in ``notebooks/02b_did_the_style_move.ipynb``. Transfer keeps the notes and changes only the
velocities, so the judge must hear how the velocities *fit* the notes, never the notes alone. Every
note gets :data:`ATTRIBUTES` (its place in its chord, whether it carries the top line, its chord's
size, its length and the gaps around it, how dense and how high the music around it is, where in the
piece it falls), each standardised over the piece, so what a piece's notes look like (how many
chords, how long the notes) cancels out and only the relation is left. A piece's
:data:`RELATIONS` are then:

* ``coef_*``: the ridge regression coefficients of the standardised velocities on the attributes;
* ``corr_*``: each attribute's own correlation with the standardised velocities;
* ``r2``: the share of the velocity variance the attributes explain;
* ``residual_*``: what is left after the regression: the lag-1, 2 and 4 autocorrelations of the
  chords' mean residual, the share of the residual variance that lies between chords, and the mean
  onset-to-onset jump of the residual (in residual standard deviations).

The judge measures these on each stretch of about :data:`SEGMENT_NOTES` notes
(:func:`relation_segments`) and gives a piece the mean of its stretches' log-probabilities.
Velocities shuffled among a piece's notes, or drawn with no regard to them (a texture on a flat
line), have coefficients, correlations and ``r2`` near 0 whatever the notes are. Nothing here reads
a pedal, the quantisation of onsets or the overall loudness (all say how a file was made, not how
it was played).
"""

from __future__ import annotations

import numpy as np

from ..core.midi import Performance
from ..core.notes import NOTE_FEATURES, note_features

#: The note attributes velocities are related to (each standardised over the piece).
ATTRIBUTES = (
    "top_of_chord",  # highest note of a chord of two or more notes
    "bottom_of_chord",  # lowest note of a chord of two or more notes
    "inner_voice",  # neither, in a chord of three or more
    "place_in_chord",  # (pitch - chord's lowest) / (chord's highest - lowest); 0.5 for a single note
    "log_chord_size",
    "top_line",  # the highest pitch struck within 1 s either side (the melody, as a listener hears it)
    "pitch",
    "pitch_local",  # pitch minus the mean pitch within 2 s either side
    "log_duration",
    "log_gap_before",  # seconds since the previous chord
    "log_gap_after",  # seconds to the next chord
    "density",  # log(1 + onsets within 1 s either side)
    "sounding",  # log(1 + notes still sounding at the onset)
    "position",  # onset / last onset (0-1): the piece's shape
    "position_sq",  # (position - 0.5)^2: louder in the middle, or at the ends
    "top_line_x_duration",  # a long melody note (top_line times log_duration, both standardised)
    "top_x_chord_size",  # the top note of a big chord (top_of_chord times log_chord_size)
)
#: Ridge penalty per note (the regression is on standardised attributes).
RIDGE = 0.01
#: Notes per segment of the ``relations`` judge: it judges each stretch of about this many notes and
#: gives a piece the mean of their log-probabilities (:func:`relation_segments`).
SEGMENT_NOTES = 300
#: The relation features of a piece, in order.
RELATIONS = (*(f"coef_{a}" for a in ATTRIBUTES), *(f"corr_{a}" for a in ATTRIBUTES), "r2", "residual_chord_lag1",
             "residual_chord_lag2", "residual_chord_lag4", "residual_between_chords", "residual_jump")


def note_attributes(perf: Performance) -> np.ndarray:
    """Each note's :data:`ATTRIBUTES`, standardised over the piece (a constant attribute is all 0).

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        perf: the performance (its notes; never a velocity, pedal or loudness).

    Returns:
        ``(notes, len(ATTRIBUTES))`` float64, in the order of ``perf.notes``.
    """
    nf = note_features(perf).astype(np.float64)
    col = {name: nf[:, j] for j, name in enumerate(NOTE_FEATURES)}
    size = col["chord_size"]
    span = col["pitch_minus_chord_bottom"] - col["pitch_minus_chord_top"]
    raw = {
        "top_of_chord": (col["top"] > 0) & (size >= 2),
        "bottom_of_chord": (col["bottom"] > 0) & (size >= 2),
        "inner_voice": (col["top"] == 0) & (col["bottom"] == 0) & (size >= 3),
        "place_in_chord": np.where(span > 0, col["pitch_minus_chord_bottom"] / np.maximum(span, 1), 0.5),
        "log_chord_size": np.log(np.maximum(size, 1)),
        "top_line": col["pitch_minus_max_1s"] == 0,
        "pitch": col["pitch"],
        "pitch_local": col["pitch_minus_mean_2s"],
        "log_duration": col["log_duration_s"],
        "log_gap_before": col["log_gap_before_s"],
        "log_gap_after": col["log_gap_after_s"],
        "density": col["log_notes_1s"],
        "sounding": col["log_sounding"],
        "position": col["position"],
        "position_sq": (col["position"] - 0.5) ** 2,
    }
    x = _standardised(np.stack([np.asarray(raw[a], np.float64) for a in ATTRIBUTES[:-2]], axis=1).reshape(len(nf), -1))
    j = {a: i for i, a in enumerate(ATTRIBUTES)}
    products = [x[:, j["top_line"]] * x[:, j["log_duration"]], x[:, j["top_of_chord"]] * x[:, j["log_chord_size"]]]
    return np.concatenate([x, _standardised(np.stack(products, axis=1).reshape(len(nf), -1))], axis=1)


def _standardised(x: np.ndarray) -> np.ndarray:
    """Each column standardised (a constant column is all 0)."""
    if not len(x):
        return x
    sd = x.std(0)
    return np.where(sd > 1e-9, (x - x.mean(0)) / np.where(sd > 1e-9, sd, 1.0), 0.0)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def relation_features(attributes: np.ndarray, chord: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A piece's :data:`RELATIONS`. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        attributes: :func:`note_attributes` of its notes.
        chord: each note's chord id (0, 1, ... in order).
        z: its velocities standardised over the piece.

    Returns:
        float32 vector, one value per relation (all 0 for a piece under three notes).
    """
    n, k = attributes.shape
    out = np.zeros(len(RELATIONS), np.float32)
    if n < 3 or z.std() < 1e-9:
        return out
    zc = (z - z.mean()) / z.std()
    gram = attributes.T @ attributes / n + RIDGE * np.eye(k)
    coef = np.linalg.solve(gram, attributes.T @ zc / n)
    residual = zc - attributes @ coef
    corr = [_corr(attributes[:, j], zc) for j in range(k)]
    size = np.bincount(chord).astype(np.float64)
    size[size == 0] = 1
    chord_mean = np.bincount(chord, weights=residual, minlength=len(size)) / size
    between = float(np.sum(size * chord_mean**2) / max(np.sum(residual**2), 1e-12))
    lags = [_corr(chord_mean[k:], chord_mean[:-k]) if chord_mean.size > k + 2 else 0.0 for k in (1, 2, 4)]
    r2 = 1.0 - float(residual.var())
    jump = float(np.abs(np.diff(residual)).mean() / max(residual.std(), 1e-9))
    out[:] = [*coef, *corr, r2, *lags, between, jump]
    return out


def segment_bounds(n: int, notes: int | None = SEGMENT_NOTES) -> list[tuple[int, int]]:
    """Where a piece's segments start and end: ``round(n / notes)`` equal stretches (at least one).

    Args:
        n: notes in the piece.
        notes: notes per segment (None or 0: the whole piece).

    Returns:
        ``(start, end)`` note indices of each segment, in order.
    """
    k = max(1, round(n / notes)) if notes else 1
    bounds = np.linspace(0, n, k + 1).astype(int)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def relation_segments(attributes: np.ndarray, chord: np.ndarray, z: np.ndarray,
                      notes: int | None = SEGMENT_NOTES) -> np.ndarray:
    """:func:`relation_features` of each segment of a piece (:func:`segment_bounds`).

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. A segment's velocities are standardised
    over the segment, its attributes stay standardised over the piece.

    Args:
        attributes, chord, z: as for :func:`relation_features`.
        notes: notes per segment (None or 0: one row for the whole piece).

    Returns:
        float32 ``(segments, len(RELATIONS))``.
    """
    return np.stack([relation_features(attributes[a:b], chord[a:b] - (chord[a] if b > a else 0), z[a:b])
                     for a, b in segment_bounds(len(z), notes)])
