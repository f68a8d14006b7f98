"""Three trivial baselines of the chords LSTM, and the binary cross-entropy that measures them all.

Taught in ``notebooks/04_lstm_generation.ipynb``. Fitted on the training pieces: all zeros (p
clipped to 1e-7, the Keras convention), the per-column marginal, and "copy the previous step"
(p = a where the column was held, b elsewhere).
"""

from __future__ import annotations

import numpy as np

#: Probabilities are clipped to [EPS, 1 - EPS].
EPS = 1e-7


def fit_baselines(held_matrices, columns: int) -> dict:
    """Fit the baselines. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        held_matrices: (steps, >= columns) matrices whose first ``columns`` are the held columns.
        columns: held columns.

    Returns:
        ``marginal`` (per column), ``copy_a`` = P(held | held before), ``copy_b`` = P(held | not).
    """
    total = np.zeros(columns)
    steps = 0
    n11 = n1 = n01 = n0 = 0
    for m in held_matrices:
        h = m[:, :columns].astype(np.int64)
        total += h.sum(0)
        steps += len(h)
        prev, nxt = h[:-1], h[1:]
        n1 += int(prev.sum())
        n11 += int((prev * nxt).sum())
        n0 += int((1 - prev).sum())
        n01 += int(((1 - prev) * nxt).sum())
    return {"marginal": (total / max(steps, 1)).tolist(), "copy_a": n11 / max(n1, 1), "copy_b": n01 / max(n0, 1)}


def bce_sum(p, y) -> float:
    """Summed binary cross-entropy (probabilities clipped), for means over many chunks.

    Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        p: probabilities.
        y: 0/1 targets.

    Returns:
        The sum over every cell.
    """
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).sum())


def baseline_sums(x_held: np.ndarray, y_held: np.ndarray, baselines: dict) -> dict:
    """Summed BCE of the three baselines. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        x_held: (steps, columns) held inputs.
        y_held: (steps, columns) next-step held targets.
        baselines: as :func:`fit_baselines` returns.

    Returns:
        ``{"zeros": ..., "marginal": ..., "copy": ...}`` sums over every cell.
    """
    y = y_held.astype(np.float64)
    marg = np.broadcast_to(np.asarray(baselines["marginal"]), y.shape)
    copy = np.where(x_held > 0, baselines["copy_a"], baselines["copy_b"])
    return {
        "zeros": bce_sum(np.zeros_like(y), y),
        "marginal": bce_sum(marg, y),
        "copy": bce_sum(copy, y),
    }
