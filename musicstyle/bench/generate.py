"""``musicstyle bench generate``: the compiled generation loop against one ``model.predict`` per step.

Taught in ``notebooks/04_lstm_generation.ipynb``.
"""

from __future__ import annotations

import time

import numpy as np

from .. import chords, classifier
from ..core.midi import read_midi
from ..core.roll import Layout
from ..data.examples import default_piece


def step_model(model):
    """One step of a chords LSTM as a Keras model, for the naive loop (``notebooks/04_lstm_generation.ipynb``).

    Args:
        model: a chords LSTM.

    Returns:
        A model (row, h, c) -> (held logits, onset logits, h, c).
    """
    import keras
    from keras import layers

    cols = model.get_layer("held_logits").units
    units = model.get_layer("lstm").cell.units
    x = keras.Input((2 * cols,))
    h = keras.Input((units,))
    c = keras.Input((units,))
    out, (h2, c2) = model.get_layer("lstm").cell(x, [h, c])
    z = layers.Concatenate()([out, x])
    return keras.Model([x, h, c], [model.get_layer("held_logits")(z), model.get_layer("onset_logits")(z), h2, c2])


def naive_sample(gen, sm, style, steps: int, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """Generation with one ``model.predict`` call per step: the slow way (``notebooks/04_lstm_generation.ipynb``).

    Args:
        gen: the model's :class:`musicstyle.chords.Generator` (for the initial state).
        sm: its :func:`step_model`.
        style: (50,) style vector.
        steps: steps to sample.
        temperature, seed: as for :func:`musicstyle.chords.generate`.

    Returns:
        (steps, 2C) uint8 matrix.
    """
    h, c = (np.asarray(a) for a in gen.initial_state(np.asarray(style, np.float32)[None]))
    cols = gen.columns
    rng = np.random.default_rng(seed)
    x = np.zeros((1, 2 * cols), np.float32)
    rows = []
    for _ in range(steps):
        lh, lo, h, c = sm.predict([x, h, c], verbose=0)
        p = 1 / (1 + np.exp(-np.concatenate([lh, lo], 1) / temperature))
        s = (rng.random(p.shape) < p).astype(np.float32)
        held = s[:, :cols]
        onset = np.maximum(s[:, cols:] * held, held * (1 - x[:, :cols]))
        x = np.concatenate([held, onset], 1)
        rows.append(x[0])
    return np.stack(rows).astype(np.uint8)


def bench_generate(genre: str = "classical", steps: int | None = None, repeats: int = 3) -> dict:
    """Compiled loop against one ``model.predict`` per step, the same number of steps, one run.

    Taught in ``notebooks/04_lstm_generation.ipynb``; printed by ``musicstyle bench generate``.

    Args:
        genre: whose shipped LSTM.
        steps: steps to sample (default: 30 s of music).
        repeats: runs of the compiled loop (the fastest counts).

    Returns:
        ``compiled_steps_per_s``, ``naive_steps_per_s``, ``speedup``, ``seconds_for_30s`` (sampling
        30 s and writing it as MIDI, the loop traced once), ``first_call_trace_s`` and the sizes.
    """
    model, meta = chords.load(genre)
    style = classifier.style_vector(read_midi(default_piece()))
    steps_30 = int(round(30 * meta["steps_per_second"]))
    steps = steps or steps_30
    gen = chords.Generator(model)
    t0 = time.perf_counter()
    gen.sample(style, steps, 1.0, 0)
    trace_s = time.perf_counter() - t0
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        gen.sample(style, steps, 1.0, r + 1)
        best = min(best, time.perf_counter() - t0)
    music = float("inf")
    layout = Layout.from_dict(meta["layout"])
    for r in range(repeats):
        t0 = time.perf_counter()
        m = gen.sample(style, steps_30, 1.0, r)
        chords.to_midi(m, layout, meta["steps_per_second"], meta["velocity_median"])
        music = min(music, time.perf_counter() - t0)
    sm = step_model(model)
    naive_sample(gen, sm, style, 2)  # build the step model's predict function once
    t0 = time.perf_counter()
    naive_sample(gen, sm, style, steps)
    naive = time.perf_counter() - t0
    return {
        "genre": genre,
        "units": meta["units"],
        "steps": steps,
        "compiled_steps_per_s": round(steps / best, 1),
        "naive_steps_per_s": round(steps / naive, 2),
        "speedup": round(naive / best, 1),
        "seconds_for_30s": round(music, 4),
        "steps_for_30s": steps_30,
        "first_call_trace_s": round(trace_s, 2),
    }
