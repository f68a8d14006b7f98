"""A genre's velocity *texture*: how real velocities vary around the model's mean, chord to chord.

Taught in ``notebooks/02_velocity_cnn.ipynb``. A model predicts the mean velocity of a note given
the notes, which is smoother than any playing. Each model carries its genre's texture, fitted on
validation pieces after training (:func:`fit_texture`): the residual (true minus predicted, each
piece's mean removed) as an AR(1) series over chords plus independent noise per note. Transfer
writes the mean plus one seeded draw of it (:func:`sample_texture`). The ``sampled`` route draws
instead along the notes (:func:`sample_spread`): each note's spread is a function of its note
features (:func:`fit_spread`), shared over its chord and the chords around it as the texture is.
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
    chord = np.asarray(chord, np.int64)
    if chord.size == 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    series = _ar1(rng, int(chord.max()) + 1, float(texture["rho"]))
    return texture["sigma_chord"] * series[chord] + texture["sigma_note"] * rng.standard_normal(len(chord))


def _ar1(rng, n: int, rho: float) -> np.ndarray:
    """A stationary AR(1) series of unit variance and lag-1 correlation ``rho``."""
    from scipy.signal import lfilter

    e = rng.standard_normal(n)
    series = np.empty_like(e)
    series[0] = e[0]
    if len(e) > 1:
        series[1:] = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], e[1:], zi=[rho * e[0]])[0]
    return series


def fit_spread(model, prepared: Prepared, texture: dict, penalty: float = 10.0, predictions=None) -> dict:
    """Each note's residual spread as a function of its note features (the ``sampled`` route).

    Residual r = true - predicted, each piece's mean removed (notes in the key range). A ridge
    regression of log(r^2 + 1) on the standardised note features gives a log variance per note,
    scaled so that its mean matches the mean r^2; ``chord_share`` is the share of the variance
    shared by a chord (the texture's ``sigma_chord`` over its total), ``rho`` its lag-1 correlation
    over chords. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a note velocity model (``improved`` or ``stylenet``).
        prepared: the pieces (validation pieces).
        texture: the model's :func:`fit_texture` on the same pieces.
        penalty: the ridge penalty.
        predictions: :func:`musicstyle.velocity.evaluate.onset_predictions` of the pieces (None: computed).

    Returns:
        ``mu``, ``sd``, ``w`` (lists, one per note feature), ``b``, ``chord_share``, ``rho``,
        ``sigma`` (mean spread) and ``pieces``; ``{}`` without notes.
    """
    rows, logs, squares = [], [], []
    predictions = onset_predictions(model, prepared) if predictions is None else predictions
    for (true, pred, _), notes, column in zip(predictions, prepared.notes, prepared.column):
        if len(true) < 2:
            continue
        r = (true - pred) - (true - pred).mean()
        rows.append(notes[column >= 0].astype(np.float64))
        logs.append(np.log(r**2 + 1.0))
        squares.append(r**2)
    if not rows:
        return {}
    x, y, r2 = np.concatenate(rows), np.concatenate(logs), np.concatenate(squares)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    w = np.linalg.solve(z.T @ z + penalty * np.eye(z.shape[1]), z.T @ (y - y.mean()))
    shape = np.exp(z @ w)
    b = float(np.log(r2.mean() / shape.mean()))
    total = texture["sigma_chord"] ** 2 + texture["sigma_note"] ** 2
    return {"mu": [round(float(v), 6) for v in mu], "sd": [round(float(v), 6) for v in sd], "w": [round(float(v), 6) for v in w],
            "b": round(b, 6), "chord_share": round(texture["sigma_chord"] ** 2 / total, 4) if total > 0 else 0.0,
            "rho": texture["rho"], "sigma": round(float(np.sqrt(r2.mean())), 4), "pieces": len(rows)}


def note_spread(spread: dict, notes: np.ndarray) -> np.ndarray:
    """Each note's spread (velocity units) from its note features (:func:`fit_spread`).

    The fitted log variance is bounded to +-1.5 around the mean level (spreads within a factor 2.1).

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        spread: :func:`fit_spread`'s result.
        notes: note feature rows (:func:`musicstyle.core.notes.note_features`).

    Returns:
        float64, one standard deviation per note.
    """
    z = (np.asarray(notes, np.float64) - np.asarray(spread["mu"])) / np.asarray(spread["sd"])
    return np.sqrt(np.exp(spread["b"] + np.clip(z @ np.asarray(spread["w"]), -1.5, 1.5)))


def sample_spread(spread: dict, notes: np.ndarray, chord: np.ndarray, seed=0) -> np.ndarray:
    """One draw along the notes: each note's own spread, shared over chords as fitted.

    ``note_spread * (sqrt(chord_share) * AR(1) over chords + sqrt(1 - chord_share) * noise per note)``.
    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        spread: :func:`fit_spread`'s result.
        notes: the notes' feature rows.
        chord: each note's chord id.
        seed: anything ``numpy.random.default_rng`` takes.

    Returns:
        float64, one value per note (mean 0).
    """
    chord = np.asarray(chord, np.int64)
    if chord.size == 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    share = float(spread["chord_share"])
    series = _ar1(rng, int(chord.max()) + 1, float(spread["rho"]))
    unit = np.sqrt(share) * series[chord] + np.sqrt(1 - share) * rng.standard_normal(len(chord))
    return note_spread(spread, notes) * unit


def fit_texture(model, prepared: Prepared, predictions=None) -> dict:
    """The model's genre texture from its residuals on notes in the key range.

    Residual r = true - predicted, each piece's mean removed. ``sigma_note``: the pooled spread of
    r inside chords of two or more notes; ``sigma_chord``: the spread of the chords' mean r, less
    what the note noise adds to a mean; ``rho``: lag-1 autocovariance of the chords' mean r over
    ``sigma_chord`` squared (0 to 0.99). Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity model.
        prepared: the pieces (validation pieces).
        predictions: :func:`musicstyle.velocity.evaluate.onset_predictions` of the pieces (None: computed).

    Returns:
        ``sigma_note``, ``sigma_chord``, ``rho`` and ``pieces`` (the pieces used).
    """
    within, weights, means, inverse_sizes, lagged = [], [], [], [], []
    predictions = onset_predictions(model, prepared) if predictions is None else predictions
    for (true, pred, _), chord, column in zip(predictions, prepared.chord, prepared.column):
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
