"""The chords LSTM's data: the held+onset matrix, next-step pairs along time, and each epoch's windows.

Taught in ``notebooks/04_lstm_generation.ipynb``. At each step ``t`` the model reads the held and
onset rows of the paper's 59 columns (MIDI 32-88, sustain CC64, soft CC67) and predicts row
``t + 1``: targets are shifted along the **time** axis (the reference code shifted along the song
axis).
"""

from __future__ import annotations

import numpy as np

from ..core.midi import Performance
from ..core.roll import PAPER, Layout, piano_roll


def matrix(perf: Performance, layout: Layout = PAPER) -> np.ndarray:
    """A piece as the model reads it. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        perf: the piece.
        layout: the roll's columns.

    Returns:
        (steps, 2 * columns) uint8: held columns, then onset columns.
    """
    roll = piano_roll(perf, layout)
    return np.concatenate([roll.held, roll.onset], axis=1)


def next_step_pairs(m: np.ndarray, length: int, hop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Teacher forcing along the time axis. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Windows that do not fit whole are dropped (a piece shorter than ``length + 1`` gives none).

    Args:
        m: (steps, C) matrix.
        length: steps per window.
        hop: steps between window starts (default ``length``).

    Returns:
        (n, length, C) inputs ``m[s:s+length]`` and targets ``m[s+1:s+length+1]``, so that
        ``target[i, t] == input[i, t + 1]``.
    """
    hop = hop or length
    n = max(0, (len(m) - 1 - length) // hop + 1)
    idx = np.arange(n)[:, None] * hop + np.arange(length)[None, :]
    return m[idx], m[idx + 1]


def chunks(m: np.ndarray, length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (t -> t + 1) pair of a piece exactly once. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        m: (steps, C) matrix.
        length: most steps per chunk.

    Returns:
        ``(inputs, targets)`` chunks of at most ``length`` steps, the last one shorter.
    """
    out = []
    for s in range(0, len(m) - 1, length):
        e = min(s + length, len(m) - 1)
        out.append((m[s:e], m[s + 1 : e + 1]))
    return out


def prepare(pieces, vectors, layout: Layout = PAPER) -> tuple[list[np.ndarray], np.ndarray]:
    """Matrices and style vectors of pieces. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        pieces: pieces with ``.performance``.
        vectors: each piece's style vector.
        layout: the matrices' columns.

    Returns:
        The matrices and the (n, 50) float32 vectors.
    """
    mats = [matrix(p.performance, layout) for p in pieces]
    return mats, np.asarray(vectors, np.float32)


def epoch_pairs(mats: list[np.ndarray], vectors: np.ndarray, length: int, rng, limit: int | None = None):
    """One epoch's training examples, built batch by batch. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Each piece is cut into whole windows from a random offset; ``limit`` of them are kept at random.
    Only the pieces' matrices stay in memory; each batch of windows is cut when the trainer feeds it.

    Args:
        mats: each piece's matrix.
        vectors: each piece's style vector.
        length: steps per window.
        rng: the epoch's ``numpy`` random generator.
        limit: most windows (default: all).

    Returns:
        :class:`~musicstyle.training.trainer.Examples` of ``((rolls, styles), (held, onset))``: uint8
        (n, length, 2C) inputs, (n, 50) style vectors and the uint8 (n, length, C) next-step targets
        of each output.
    """
    from ..training.trainer import Examples

    index = []
    for i, m in enumerate(mats):
        offset = int(rng.integers(0, length))
        count = max(0, (len(m) - offset - 1 - length) // length + 1)  # whole windows with a next step
        index += [(i, offset + k * length) for k in range(count)]
    index = [index[k] for k in rng.permutation(len(index))[: limit or len(index)]]
    width = mats[0].shape[1]

    def take(order: np.ndarray):
        x = np.zeros((len(order), length + 1, width), mats[0].dtype)
        for j, k in enumerate(order):
            i, start = index[k]
            x[j] = mats[i][start : start + length + 1]
        y = x[:, 1:]
        return (x[:, :-1], vectors[[index[k][0] for k in order]]), (y[..., : width // 2], y[..., width // 2 :])

    return Examples(len(index), take)
