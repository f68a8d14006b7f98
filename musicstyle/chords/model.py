"""The style-conditioned LSTM, its start at the copy baseline, its shipped files and its compiled sampler.

Taught in ``notebooks/04_lstm_generation.ipynb``. The LSTM's initial hidden and cell states come
from learned dense layers on the genre classifier's 50-d style vector
(:func:`musicstyle.classifier.style_vector`), so a jazz piece's style vector can start the
classical LSTM. The output layers also see the current input row (a skip connection): copying the
held notes is then one linear map away and the LSTM learns what changes.

Generation samples every column from Bernoulli(sigmoid(logit / temperature)) and feeds the sample
back, the whole loop compiled in one ``tf.function`` with stateless random numbers (seed, step),
so it is reproducible and identical to a step-by-step reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.roll import PAPER, Layout
from ..errors import MusicstyleError

KIND = "chords"
GENRES = ("classical", "jazz")


def shipped_name(genre: str) -> str:
    """The shipped file of a genre's LSTM. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        genre: ``classical`` or ``jazz``.

    Returns:
        Its file name in ``musicstyle/pretrained/``.
    """
    return f"chords_{genre}.keras"


def build(units: int = 128, columns: int = PAPER.columns, style_dim: int = 50, style_mean=None, style_var=None):
    """The conditioned LSTM. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        units: LSTM units.
        columns: held (and onset) columns.
        style_dim: size of the style vector.
        style_mean, style_var: the style vectors' statistics, for the ``style_norm`` layer.

    Returns:
        A Keras model with inputs ``roll`` (None, 2C) and ``style`` (50,) and outputs next ``held``
        and ``onset`` probabilities; ``init_h`` and ``init_c`` map the normalised style vector to
        the LSTM's initial states.
    """
    import keras
    from keras import layers

    seq = keras.Input((None, 2 * columns), name="roll")
    style = keras.Input((style_dim,), name="style")
    mean = np.zeros(style_dim) if style_mean is None else np.asarray(style_mean)
    var = np.ones(style_dim) if style_var is None else np.maximum(np.asarray(style_var), 1e-6)
    s = layers.Normalization(mean=mean.tolist(), variance=var.tolist(), name="style_norm")(style)
    h0 = layers.Dense(units, activation="tanh", name="init_h")(s)
    c0 = layers.Dense(units, name="init_c")(s)
    x = layers.LSTM(units, return_sequences=True, name="lstm")(seq, initial_state=[h0, c0])
    z = layers.Concatenate(name="with_input")([x, seq])
    held = layers.Activation("sigmoid", name="held")(layers.Dense(columns, name="held_logits")(z))
    onset = layers.Activation("sigmoid", name="onset")(layers.Dense(columns, name="onset_logits")(z))
    return keras.Model([seq, style], [held, onset], name="chords_lstm")


def start_at_copy(model, baselines: dict, onset_rate: float) -> None:
    """Make the untrained model *be* the copy baseline. Taught in ``notebooks/04_lstm_generation.ipynb``.

    ``held_logits`` gets weight logit(a) - logit(b) from each column's own held input and bias
    logit(b); the LSTM's share of its weights is scaled down (x0.1) so it starts as a small
    correction; ``onset_logits`` starts at the mean onset rate. Training then only improves on
    copying instead of first having to discover it.

    Args:
        model: a model from :func:`build` (changed in place).
        baselines: ``copy_a`` and ``copy_b`` (:func:`~musicstyle.chords.baselines.fit_baselines`).
        onset_rate: the training pieces' share of onset cells.
    """
    def logit(p):
        p = min(max(p, 1e-6), 1 - 1e-6)
        return float(np.log(p / (1 - p)))

    cols = model.get_layer("held_logits").units
    units = model.get_layer("lstm").cell.units
    for name, diag, bias in (("held_logits", logit(baselines["copy_a"]) - logit(baselines["copy_b"]), logit(baselines["copy_b"])),
                             ("onset_logits", 0.0, logit(onset_rate))):
        kernel, b = model.get_layer(name).get_weights()
        kernel[:units] *= 0.1
        kernel[units:] = 0.0
        kernel[units : units + cols] += np.eye(cols) * diag
        model.get_layer(name).set_weights([kernel, np.full_like(b, bias)])


def warm_start(model, source) -> list[str]:
    """Copy the weights of layers of the same name and shapes. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        model: the model to start (changed in place).
        source: a trained model (for example a run with all style vectors zero).

    Returns:
        The names of the layers copied.
    """
    copied = []
    for layer in model.layers:
        try:
            other = source.get_layer(layer.name)
        except ValueError:
            continue
        w, o = layer.get_weights(), other.get_weights()
        if w and len(w) == len(o) and all(a.shape == b.shape for a, b in zip(w, o)):
            layer.set_weights(o)
            copied.append(layer.name)
    return copied


def metadata(genre: str, units: int, layout: Layout, baselines: dict, steps_per_second: float, velocity: int,
             length: int) -> dict:
    """What a chords file records. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        genre: the genre trained on.
        units: LSTM units.
        layout: the matrix columns.
        baselines: the fitted baselines.
        steps_per_second: mean steps per second of the training pieces (for generation).
        velocity: their median velocity (for :func:`~musicstyle.chords.generate.to_midi`).
        length: the training window.

    Returns:
        The metadata dict.
    """
    return {
        "kind": KIND,
        "genre": genre,
        "units": units,
        "layout": layout.to_dict(),
        "inputs": ["held", "onset"],
        "outputs": ["held next step", "onset next step"],
        "baselines": baselines,
        "steps_per_second": steps_per_second,
        "velocity_median": velocity,
        "train_length": length,
        "style": "musicstyle.classifier.style_vector (shipped keys-only classifier)",
    }


def load(genre: str) -> tuple:
    """A genre's shipped LSTM, or an LSTM file. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        genre: ``classical`` or ``jazz``, or a path to a chords .keras file.

    Returns:
        ``(model, metadata)``, loaded once through :func:`musicstyle.training.shipped.load_shipped`.
    """
    from ..training.shipped import load_shipped, pretrained_path

    if genre in GENRES:
        return load_shipped(str(pretrained_path(shipped_name(genre))), KIND)
    if Path(genre).suffix != ".keras":
        raise MusicstyleError(genre, f"unknown genre (choose from {', '.join(GENRES)})")
    return load_shipped(genre, KIND)  # a shipped model's bare name stands for its file


class Generator:
    """Sampling from a trained model. Taught in ``notebooks/04_lstm_generation.ipynb``.

    ``run`` is the whole loop in one ``tf.function``; ``step`` is the same single step, callable
    eagerly as a reference. The first call of :meth:`sample` traces the loop (about a second).
    """

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        self.cell = model.get_layer("lstm").cell
        self.columns = model.get_layer("held_logits").units
        self.layers = {n: model.get_layer(n) for n in ("style_norm", "init_h", "init_c", "held_logits", "onset_logits")}
        self.run = tf.function(self._loop, reduce_retracing=True)

    def initial_state(self, style):
        """The LSTM's initial state (``notebooks/04_lstm_generation.ipynb``).

        Args:
            style: (n, 50) style vectors.

        Returns:
            ``(h, c)``, each (n, units).
        """
        import tensorflow as tf

        s = self.layers["style_norm"](tf.convert_to_tensor(style, tf.float32))
        return self.layers["init_h"](s), self.layers["init_c"](s)

    def step(self, x, h, c, temperature, seed, t):
        """One sampling step (``notebooks/04_lstm_generation.ipynb``).

        Args:
            x: (n, 2C) current rows.
            h, c: the LSTM state.
            temperature: the logits are divided by it.
            seed, t: the stateless random numbers' seed and step.

        Returns:
            ``(next rows, h, c)``: sampled held and onset columns, a struck key always held.
        """
        import tensorflow as tf

        cols = self.columns
        out, (h, c) = self.cell(x, [h, c])
        z = tf.concat([out, x], axis=-1)
        logits = tf.concat([self.layers["held_logits"](z), self.layers["onset_logits"](z)], axis=-1)
        p = tf.sigmoid(logits / temperature)
        u = tf.random.stateless_uniform(tf.shape(p), seed=tf.stack([tf.cast(seed, tf.int64), tf.cast(t, tf.int64)]))
        sample = tf.cast(u < p, tf.float32)
        held = sample[:, :cols]
        # a struck key sounds; a key that starts sounding was struck
        onset = tf.maximum(sample[:, cols:] * held, held * (1.0 - x[:, :cols]))
        return tf.concat([held, onset], axis=-1), h, c

    def _loop(self, style, steps, temperature, seed):
        import tensorflow as tf

        h, c = self.initial_state(style)
        x = tf.zeros((tf.shape(style)[0], 2 * self.columns))
        rows = tf.TensorArray(tf.float32, size=steps)
        for t in tf.range(steps):
            x, h, c = self.step(x, h, c, temperature, seed, t)
            rows = rows.write(t, x)
        return tf.transpose(rows.stack(), [1, 0, 2])

    def sample(self, style, steps: int, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
        """Sample with the compiled loop (``notebooks/04_lstm_generation.ipynb``).

        Args:
            style: (50,) style vector, or (n, 50) for a batch.
            steps: rows to sample.
            temperature: > 0; higher samples more freely.
            seed: the same seed gives the same rows.

        Returns:
            (steps, 2C) uint8, or (n, steps, 2C) for a batch.
        """
        import tensorflow as tf

        style = np.asarray(style, np.float32)
        one = style.ndim == 1
        out = self.run(
            tf.constant(style[None] if one else style),
            tf.constant(int(steps)),
            tf.constant(float(temperature)),
            tf.constant(int(seed), tf.int64),
        )
        out = out.numpy().astype(np.uint8)
        return out[0] if one else out

    def reference(self, style, steps: int, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
        """The same sampling, one eager step at a time (slow; ``notebooks/04_lstm_generation.ipynb``).

        Args:
            style, steps, temperature, seed: as for :meth:`sample` (one style vector).

        Returns:
            (steps, 2C) uint8, equal to :meth:`sample`'s.
        """
        import tensorflow as tf

        h, c = self.initial_state(np.asarray(style, np.float32)[None])
        x = tf.zeros((1, 2 * self.columns))
        rows = []
        for t in range(steps):
            x, h, c = self.step(x, h, c, tf.constant(float(temperature)), tf.constant(int(seed), tf.int64), tf.constant(t))
            rows.append(x.numpy()[0])
        return np.stack(rows).astype(np.uint8)


#: The sampler of each shipped model, traced once: genre -> Generator (remade when the model was reloaded).
_SAMPLERS: dict[str, Generator] = {}
_LAST_OWN: Generator | None = None  # the sampler of the last LSTM given as a model (generator_of)


def generator_of(model) -> Generator:
    """The compiled sampler of a loaded LSTM: the last one asked for is kept, so calls on one model trace it once
    (about a second) and a model no longer used is not held for ever."""
    global _LAST_OWN
    if _LAST_OWN is None or _LAST_OWN.model is not model:
        _LAST_OWN = Generator(model)
    return _LAST_OWN


def shipped_generator(genre: str) -> tuple[Generator, dict]:
    """The compiled sampler of a genre's shipped LSTM. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Tracing the loop takes about a second, so the sampler of each model :func:`load` returns is
    made once and kept while that model stays loaded.

    Args:
        genre: as for :func:`load`.

    Returns:
        ``(generator, metadata)``.
    """
    model, meta = load(genre)
    gen = _SAMPLERS.get(genre)
    if gen is None or gen.model is not model:
        gen = _SAMPLERS[genre] = Generator(model)
    return gen, meta
