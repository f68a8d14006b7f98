"""How much music the classifier needs: its accuracy on pieces cut to their first beats.

Taught in ``notebooks/03_genre_classifier.ipynb`` (section 7). The classifier reads windows of 64 beats; a
piece shorter than one window fills the rest of it with silence, which it saw little of in training
(:func:`musicstyle.classifier.caution` says so beside its verdict).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.midi import Performance
from .evaluate import evaluate


def first_beats(perf: Performance, beats: float) -> Performance:
    """The piece cut to its first ``beats`` quarter notes: notes that start before the cut, ended at it
    at the latest, and the pedal events before it (tempo map kept)."""
    cut = int(round(beats * perf.ticks_per_quarter))
    notes = perf.notes[perf.notes["start"] < cut].copy()
    notes["end"] = np.minimum(notes["end"], cut)
    return dataclasses.replace(perf, notes=notes, controls=perf.controls[perf.controls["tick"] < cut])


def accuracy_by_length(model, meta: dict, pieces, lengths=(8, 16, 32, 64, None)) -> list[dict]:
    """A classifier's piece accuracy on pieces cut to their first N beats, for each N.

    Taught in ``notebooks/03_genre_classifier.ipynb``. A piece no longer than N beats is left out of
    that row, and so is a cut with no note in the classifier's key range.

    Args:
        model, meta: the classifier.
        pieces: :class:`musicstyle.data.Piece` objects of both genres.
        lengths: beats kept (None: the whole piece).

    Returns:
        One row per length: ``beats`` (None for whole pieces), ``pieces`` measured, ``piece_accuracy``
        and ``segments`` (windows read).
    """
    rows = []
    for beats in lengths:
        cut = [p if beats is None else dataclasses.replace(p, performance=first_beats(p.performance, beats))
               for p in pieces if beats is None or p.performance.end_tick > beats * p.performance.ticks_per_quarter]
        result = evaluate(model, meta, cut)
        rows.append({"beats": beats, "pieces": result["pieces"], "piece_accuracy": result["piece_accuracy"],
                     "segments": result["segments"]})
    return rows
