"""Sustain-pedal analysis: how long the pedal is held down (the paper's Figure V.3).

Taught in ``notebooks/05_pedal_analysis.ipynb``.
"""

from __future__ import annotations

import numpy as np

from .midi import Performance
from .roll import pedal_presses


def press_lengths(perf: Performance, number: int = 64, seconds: float | None = None) -> np.ndarray:
    """Length in seconds of every press of a pedal (value >= 64 counts as down).

    Args:
        perf: the performance.
        number: controller number (64 sustain).
        seconds: only the presses of the first ``seconds``, each cut there (as generated music of that
            length ends); None: the whole piece.

    Returns:
        float seconds, one per press.
    """
    presses = pedal_presses(perf, number)
    if not len(presses):
        return np.zeros(0)
    start, end = perf.seconds(presses[:, 0]), perf.seconds(presses[:, 1])
    if seconds is not None:
        keep = start < seconds
        start, end = start[keep], np.minimum(end[keep], seconds)
    return end - start


def press_lengths_of(perfs, number: int = 64) -> np.ndarray:
    """All press lengths of several performances, concatenated.

    Args:
        perfs: performances.
        number: the pedal's controller number.

    Returns:
        float seconds.
    """
    parts = [press_lengths(p, number) for p in perfs]
    return np.concatenate(parts) if parts else np.zeros(0)


def held_lengths(held_column: np.ndarray, seconds_per_step: float) -> np.ndarray:
    """Lengths in seconds of the runs of 1s in one held column (for generated matrices).

    Args:
        held_column: one column of a held matrix.
        seconds_per_step: length of a grid step.

    Returns:
        float seconds, one per run.
    """
    x = np.concatenate([[0], (np.asarray(held_column) > 0).astype(np.int8), [0]])
    change = np.diff(x)
    return (np.flatnonzero(change == -1) - np.flatnonzero(change == 1)) * seconds_per_step


def summary(lengths: np.ndarray) -> dict:
    """Count, median, mean, 90th percentile (seconds) and share of presses over 2 s."""
    lengths = np.asarray(lengths, float)
    if not len(lengths):
        return {"presses": 0, "median_s": float("nan"), "mean_s": float("nan"), "p90_s": float("nan"), "over_2s": float("nan")}
    return {
        "presses": int(len(lengths)),
        "median_s": float(np.median(lengths)),
        "mean_s": float(lengths.mean()),
        "p90_s": float(np.percentile(lengths, 90)),
        "over_2s": float((lengths > 2).mean()),
    }


def generated_press_lengths(matrix: np.ndarray, layout, steps_per_second: float, number: int = 64) -> np.ndarray:
    """Press lengths of a pedal in a generated matrix whose pedal columns follow the keys (notebooks 04, 05).

    Args:
        matrix: ``(steps, columns...)`` held matrix as the chords LSTM writes it.
        layout: its :class:`~musicstyle.core.roll.Layout`.
        steps_per_second: grid steps per second of the generated music.
        number: the pedal's controller number.

    Returns:
        float seconds, one per press.
    """
    col = layout.keys + list(layout.pedals).index(number)
    return held_lengths(np.asarray(matrix)[:, col], 1.0 / steps_per_second)
