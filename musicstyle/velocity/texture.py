"""A genre's velocity *texture*: how real velocities vary around the model's mean, chord to chord.

Taught in ``notebooks/02_velocity_cnn.ipynb``. A model predicts the mean velocity of a note given
the notes, which is smoother than any playing. Each model carries its genre's texture, fitted on
validation pieces after training (:func:`fit_texture`): the residual (true minus predicted, each
piece's mean removed) as an AR(1) series over chords plus independent noise per note. Transfer
writes the mean plus one seeded draw of it (:func:`sample_texture`).
"""

from __future__ import annotations

import numpy as np

from ..core.midi import Performance
from .data import Prepared
from .evaluate import onset_predictions


def sample_texture(texture: dict, chord: np.ndarray, seed=0) -> np.ndarray:
    """One draw of a genre's texture for notes with chord ids ``chord`` (velocity units, mean 0).

    Each chord gets a value of a stationary AR(1) series (standard deviation ``sigma_chord``,
    lag-1 correlation ``rho``), each note that plus independent noise (``sigma_note``).
    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        texture: ``sigma_note``, ``sigma_chord`` and ``rho`` (:func:`fit_texture`).
        chord: each note's chord id (:func:`musicstyle.core.notes.chord_ids`).
        seed: anything ``numpy.random.default_rng`` takes (an int, or a list of ints).

    Returns:
        float64, one value per note.
    """
    from scipy.signal import lfilter

    chord = np.asarray(chord, np.int64)
    if chord.size == 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    rho = float(texture["rho"])
    e = rng.standard_normal(int(chord.max()) + 1)
    series = np.empty_like(e)
    series[0] = e[0]
    if len(e) > 1:
        series[1:] = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], e[1:], zi=[rho * e[0]])[0]
    return texture["sigma_chord"] * series[chord] + texture["sigma_note"] * rng.standard_normal(len(chord))


def fit_texture(model, prepared: Prepared) -> dict:
    """The model's genre texture from its residuals on notes in the key range.

    Residual r = true - predicted, each piece's mean removed. ``sigma_note``: the pooled spread of
    r inside chords of two or more notes; ``sigma_chord``: the spread of the chords' mean r, less
    what the note noise adds to a mean; ``rho``: lag-1 autocovariance of the chords' mean r over
    ``sigma_chord`` squared (0 to 0.99). Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity model.
        prepared: the pieces (validation pieces).

    Returns:
        ``sigma_note``, ``sigma_chord``, ``rho`` and ``pieces`` (the pieces used).
    """
    within, weights, means, inverse_sizes, lagged = [], [], [], [], []
    for (true, pred, _), chord, column in zip(onset_predictions(model, prepared), prepared.chord, prepared.column):
        if len(true) < 2:
            continue
        r = (true - pred) - (true - pred).mean()
        _, chord = np.unique(chord[column >= 0], return_inverse=True)
        size = np.bincount(chord)
        m = np.bincount(chord, r) / size
        multi = size[chord] >= 2
        within.append((r - m[chord])[multi] ** 2)
        weights.append((size[chord] / np.maximum(size[chord] - 1, 1))[multi])
        means.append(m)
        inverse_sizes.append(1.0 / size)
        lagged.append(m[1:] * m[:-1])
    if not means:
        return {"sigma_note": 0.0, "sigma_chord": 0.0, "rho": 0.0, "pieces": 0}
    sigma_note = float(np.sqrt(np.sum(np.concatenate(within) * np.concatenate(weights)) / max(sum(len(w) for w in within), 1)))
    var_means = float(np.mean(np.concatenate(means) ** 2))
    var_chord = max(var_means - sigma_note**2 * float(np.mean(np.concatenate(inverse_sizes))), 1e-6)
    rho = float(np.clip(np.mean(np.concatenate(lagged)) / var_chord, 0.0, 0.99)) if any(len(x) for x in lagged) else 0.0
    return {"sigma_note": round(sigma_note, 4), "sigma_chord": round(float(np.sqrt(var_chord)), 4), "rho": round(rho, 4),
            "pieces": len(means)}


def piece_seed(perf: Performance, seed: int = 0) -> list[int]:
    """Seed of a piece's texture draw, so each file gets its own draw and the same file the same.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        perf: the performance (its ``sha256``).
        seed: the user's seed.

    Returns:
        ``[seed, first 15 hex digits of the file's SHA-256 as an int]``.
    """
    return [seed, int(perf.sha256[:15], 16) if perf.sha256 else 0]
