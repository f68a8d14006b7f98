"""Feature-conditioned LSTM over the held ("chords") matrix: "jazz-inspired classical" music.

Taught in ``notebooks/04_lstm_generation.ipynb``.

The model reads, at each step ``t``, the held and onset rows of the paper's 59 columns (MIDI
32-88, sustain CC64, soft CC67) and predicts the probability of every column being held at
``t + 1`` (and, as an auxiliary output, struck at ``t + 1``). Its initial hidden and cell states
come from learned dense layers on the genre classifier's 50-d style vector
(:func:`musicstyle.classifier.style_vector`), so a jazz piece's style vector can start the
classical LSTM. The output layer also sees the current input row (a skip connection): copying
the held notes is then one linear map away and the LSTM learns what changes.

Loss and metric: binary cross-entropy per step and per column (mean), targets shifted along the
**time** axis (the reference code shifted along the song axis), against three baselines fitted
on the training pieces: all zeros (p clipped to 1e-7, the Keras convention), the per-column
marginal, and "copy the previous step" (p = a where the column was held, b elsewhere).

Generation samples every column from Bernoulli(sigmoid(logit / temperature)) and feeds the sample
back, the whole loop compiled in one ``tf.function`` with stateless random numbers (seed, step),
so it is reproducible and identical to a step-by-step reference.
"""

from __future__ import annotations

import numpy as np

from .errors import MusicstyleError
from .core.midi import Performance, read_midi, write_events
from .core.roll import PAPER, Layout, piano_roll

KIND = "chords"
EPS = 1e-7
GENRES = ("classical", "jazz")


def shipped_name(genre: str) -> str:
    return f"chords_{genre}.keras"


# --- data ----------------------------------------------------------------------------------------


def matrix(perf: Performance, layout: Layout = PAPER) -> np.ndarray:
    """(steps, 2 * columns) uint8: held columns then onset columns (notebook 04)."""
    roll = piano_roll(perf, layout)
    return np.concatenate([roll.held, roll.onset], axis=1)


def next_step_pairs(m: np.ndarray, length: int, hop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Teacher forcing along the time axis: inputs ``m[s:s+length]``, targets ``m[s+1:s+length+1]``.

    Returns (n, length, C) inputs and targets with ``target[i, t] == input[i, t + 1]``; windows
    that do not fit whole are dropped (a piece shorter than ``length + 1`` gives none).
    """
    hop = hop or length
    n = max(0, (len(m) - 1 - length) // hop + 1)
    idx = np.arange(n)[:, None] * hop + np.arange(length)[None, :]
    return m[idx], m[idx + 1]


def chunks(m: np.ndarray, length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (t -> t + 1) pair of a piece exactly once, in chunks of at most ``length`` steps."""
    out = []
    for s in range(0, len(m) - 1, length):
        e = min(s + length, len(m) - 1)
        out.append((m[s:e], m[s + 1 : e + 1]))
    return out


# --- baselines -----------------------------------------------------------------------------------


def fit_baselines(held_matrices, columns: int) -> dict:
    """Per-column marginal and the copy baseline's a = P(held | held before), b = P(held | not)."""
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


def bce(p: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy, probabilities clipped to [1e-7, 1 - 1e-7]."""
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    y = np.asarray(y, np.float64)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def _bce_sum(p, y) -> float:
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).sum())


def baseline_sums(x_held: np.ndarray, y_held: np.ndarray, baselines: dict) -> dict:
    """Summed BCE of the three baselines on (steps, columns) inputs and next-step targets."""
    y = y_held.astype(np.float64)
    marg = np.broadcast_to(np.asarray(baselines["marginal"]), y.shape)
    copy = np.where(x_held > 0, baselines["copy_a"], baselines["copy_b"])
    return {
        "zeros": _bce_sum(np.zeros_like(y), y),
        "marginal": _bce_sum(marg, y),
        "copy": _bce_sum(copy, y),
    }


# --- model ---------------------------------------------------------------------------------------


def build(units: int = 256, columns: int = PAPER.columns, style_dim: int = 50, style_mean=None, style_var=None):
    """The conditioned LSTM: inputs ``roll`` (None, 2C) and ``style`` (50,); outputs next ``held`` and ``onset``.

    ``init_h`` and ``init_c`` are the learned dense layers from the (normalised) style vector to
    the LSTM's initial states; the output layers see the LSTM output and the current input row.
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
    """Initialise the output layers so that the untrained model *is* the copy baseline.

    ``held_logits`` gets weight logit(a) - logit(b) from each column's own held input and bias
    logit(b); the LSTM's share of its weights is scaled down (x0.1) so it starts as a small
    correction; ``onset_logits`` starts at the mean onset rate. Training then only improves on
    copying instead of first having to discover it.
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
    """Copy the weights of every layer of ``source`` with the same name and shapes into ``model``."""
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


def _metadata(genre, units, layout, baselines, steps_per_second, velocity, length) -> dict:
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


def prepare(pieces, vectors, layout: Layout = PAPER):
    """Matrices of pieces and their style vectors, dropping pieces too short for one pair."""
    mats = [matrix(p.performance, layout) for p in pieces]
    return mats, np.asarray(vectors, np.float32)


def train(
    pieces,
    vectors,
    genre: str,
    validation=(),
    validation_vectors=(),
    units: int = 256,
    length: int = 128,
    batch_size: int = 64,
    epochs: int = 10,
    learning_rate: float = 2e-3,
    onset_weight: float = 0.5,
    time_budget_s: float | None = None,
    layout: Layout = PAPER,
    seed: int = 0,
    log=print,
    checkpoint=None,
    init_model=None,
    windows_per_epoch: int | None = None,
    patience: int = 2,
):
    """Train one genre's LSTM; returns ``(model, metadata)`` (notebook 04).

    Windows of ``length`` steps start at a random offset each epoch (``windows_per_epoch`` of
    them drawn at random, default all); Adam with gradient clipping
    (norm 1) and a learning rate halved after ``patience`` epochs without a better validation BCE; the weights of
    the best validation epoch are kept. ``time_budget_s`` stops after the epoch that passes it;
    ``checkpoint(model, meta)`` is called after every improving epoch. ``init_model``: a model
    whose layers of the same name and shape start this one (a warm start, for example from a
    run with all style vectors zero).
    """
    import time

    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    mats, vectors = prepare(pieces, vectors, layout)
    cols = layout.columns
    baselines = fit_baselines(mats, cols)
    secs = sum(p.performance.duration_s for p in pieces)
    steps_per_second = sum(len(m) for m in mats) / max(secs, 1e-9)
    vel = np.concatenate([p.performance.notes["velocity"] for p in pieces])
    model = build(units, cols, vectors.shape[1], vectors.mean(0), vectors.var(0))
    onset_rate = float(np.mean([m[:, cols:].mean() for m in mats]))
    start_at_copy(model, baselines, onset_rate)
    if init_model is not None:
        copied = warm_start(model, init_model)
        for name in ("init_h", "init_c"):  # the style's influence starts small, then grows as it pays
            kernel, bias = model.get_layer(name).get_weights()
            model.get_layer(name).set_weights([kernel * 0.1, bias])
        log(f"warm start: {', '.join(copied)}")
    opt = keras.optimizers.Adam(learning_rate, clipnorm=1.0)
    model.compile(opt, ["binary_crossentropy", "binary_crossentropy"], loss_weights=[1.0, onset_weight])
    meta = _metadata(genre, units, layout, baselines, float(steps_per_second), int(np.median(vel)), length)
    best, best_weights, history, stale = None, None, [], 0
    t0 = time.perf_counter()
    for epoch in range(epochs):
        xs, ys, ss = [], [], []
        for i, m in enumerate(mats):
            off = int(rng.integers(0, length))
            x, y = next_step_pairs(m[off:], length)
            xs.append(x)
            ys.append(y)
            ss.append(np.repeat(vectors[i : i + 1], len(x), 0))
        x, y, s = np.concatenate(xs), np.concatenate(ys), np.concatenate(ss)
        order = rng.permutation(len(x))[: windows_per_epoch or len(x)]
        losses = []
        for b in range(0, len(order) - batch_size + 1, batch_size):
            k = order[b : b + batch_size]
            xb = x[k].astype(np.float32)
            yb = y[k].astype(np.float32)
            out = model.train_on_batch([xb, s[k]], [yb[..., :cols], yb[..., cols:]])
            losses.append(float(out[1]) if isinstance(out, list) else float(out))
        row = {"epoch": epoch + 1, "held_loss": float(np.mean(losses)), "seconds": round(time.perf_counter() - t0, 1)}
        if len(validation):
            ev = evaluate(model, meta, validation, validation_vectors, length=length)
            row.update(val_bce=ev["bce"], val_ratio=ev["ratio"])
            if best is None or ev["bce"] < best:
                best, best_weights, stale = ev["bce"], model.get_weights(), 0
                if checkpoint is not None:
                    checkpoint(model, {**meta, "history": history + [row]})
            else:
                stale += 1
                if stale >= patience:
                    stale = 0
                    opt.learning_rate.assign(float(opt.learning_rate.numpy()) * 0.5)
                    row["lr"] = float(opt.learning_rate.numpy())
        history.append(row)
        log(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
        if time_budget_s is not None and time.perf_counter() - t0 > time_budget_s:
            break
    if best_weights is not None:
        model.set_weights(best_weights)
    meta["history"] = history
    meta["train_pieces"] = len(pieces)
    return model, meta


def evaluate(model, meta, pieces, vectors, length: int | None = None, batch_size: int = 32) -> dict:
    """Held-out per-step, per-column BCE of the held columns beside the three baselines.

    Every (t -> t + 1) pair of every piece counts once; pieces are cut in chunks of ``length``
    steps (default: the training window), each started from the piece's style vector.
    """
    layout = Layout.from_dict(meta["layout"])
    cols = layout.columns
    length = length or meta.get("train_length", 128)
    sums = {"model": 0.0, "zeros": 0.0, "marginal": 0.0, "copy": 0.0}
    cells = 0
    full, rest = [], []
    for p, v in zip(pieces, vectors):
        m = p if isinstance(p, np.ndarray) else matrix(p.performance, layout)
        for x, y in chunks(m, length):
            b = baseline_sums(x[:, :cols], y[:, :cols], meta["baselines"])
            for k in b:
                sums[k] += b[k]
            cells += y[:, :cols].size
            (full if len(x) == length else rest).append((x, y, v))
    # remainders are zero-padded to the full length: the LSTM is causal, so the padding never
    # changes the outputs at the real steps, and only those are scored (one compiled shape)
    items = full + rest
    for i in range(0, len(items), batch_size):
        part = items[i : i + batch_size]
        xb = np.zeros((batch_size, length, part[0][0].shape[1]), np.float32)  # always one shape
        sb = np.zeros((batch_size, len(part[0][2])), np.float32)
        for j, (x, _, v) in enumerate(part):
            xb[j, : len(x)] = x
            sb[j] = v
        out = np.asarray(model.predict_on_batch([xb, sb])[0])
        for j, (x, y, _) in enumerate(part):
            sums["model"] += _bce_sum(out[j, : len(x)], y[:, :cols])
    res = {
        "pieces": len(pieces),
        "steps": int(cells // cols),
        "bce": sums["model"] / max(cells, 1),
        "bce_zeros_baseline": sums["zeros"] / max(cells, 1),
        "bce_marginal_baseline": sums["marginal"] / max(cells, 1),
        "bce_copy_baseline": sums["copy"] / max(cells, 1),
    }
    res["ratio"] = res["bce"] / res["bce_copy_baseline"]
    return res


_CACHE: dict = {}


def load(genre: str):
    """The shipped LSTM of ``genre`` (or a path to a .keras file): ``(model, metadata)``, cached."""
    from pathlib import Path

    from .training.modelfile import load_model
    from .training.shipped import pretrained_path

    if genre in GENRES:
        path = pretrained_path(shipped_name(genre))
    elif Path(genre).suffix == ".keras":
        path = Path(genre)
    else:
        raise MusicstyleError(genre, f"unknown genre (choose from {', '.join(GENRES)})")
    if str(path) not in _CACHE:
        _CACHE[str(path)] = load_model(path, KIND)
    return _CACHE[str(path)]


# --- generation ----------------------------------------------------------------------------------


class Generator:
    """Sampling from a trained model: ``run`` is the whole loop in one ``tf.function``;
    ``step`` is the same single step, callable eagerly as a reference (notebook 04)."""

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        self.cell = model.get_layer("lstm").cell
        self.columns = model.get_layer("held_logits").units
        self.layers = {n: model.get_layer(n) for n in ("style_norm", "init_h", "init_c", "held_logits", "onset_logits")}
        self.run = tf.function(self._loop, reduce_retracing=True)

    def initial_state(self, style):
        import tensorflow as tf

        s = self.layers["style_norm"](tf.convert_to_tensor(style, tf.float32))
        return self.layers["init_h"](s), self.layers["init_c"](s)

    def step(self, x, h, c, temperature, seed, t):
        """One step: sample the next (held, onset) row from row ``x`` and state ``(h, c)``."""
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
        """(steps, 2C) uint8 for one style vector (or (n, steps, 2C) for a batch)."""
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
        """The same sampling, one eager step at a time (slow; for tests)."""
        import tensorflow as tf

        h, c = self.initial_state(np.asarray(style, np.float32)[None])
        x = tf.zeros((1, 2 * self.columns))
        rows = []
        for t in range(steps):
            x, h, c = self.step(x, h, c, tf.constant(float(temperature)), tf.constant(int(seed), tf.int64), tf.constant(t))
            rows.append(x.numpy()[0])
        return np.stack(rows).astype(np.uint8)


def step_model(model):
    """A Keras model of one step, inputs (row, h, c) -> (held p, onset p, h, c), for the naive loop."""
    import keras
    from keras import layers

    cols = model.get_layer("held_logits").units
    units = model.get_layer("lstm").cell.units
    x = keras.Input((2 * cols,))
    h = keras.Input((units,))
    c = keras.Input((units,))
    out, (h2, c2) = model.get_layer("lstm").cell(x, [h, c])
    z = layers.Concatenate()([out, x])
    held = keras.ops.sigmoid(model.get_layer("held_logits")(z))
    onset = keras.ops.sigmoid(model.get_layer("onset_logits")(z))
    return keras.Model([x, h, c], [held, onset, h2, c2])


def naive_sample(model, style, steps: int, temperature: float = 1.0, seed: int = 0, sm=None, gen=None) -> np.ndarray:
    """Generation with one ``model.predict`` call per step (the slow way, for the benchmark)."""
    sm = sm or step_model(model)
    gen = gen or Generator(model)
    h, c = (np.asarray(a) for a in gen.initial_state(np.asarray(style, np.float32)[None]))
    cols = gen.columns
    rng = np.random.default_rng(seed)
    x = np.zeros((1, 2 * cols), np.float32)
    rows = []
    for _ in range(steps):
        ph, po, h, c = sm.predict([x, h, c], verbose=0)
        logit = np.log(np.clip(np.concatenate([ph, po], 1), EPS, 1 - EPS)) - np.log1p(-np.clip(np.concatenate([ph, po], 1), EPS, 1 - EPS))
        p = 1 / (1 + np.exp(-logit / temperature))
        s = (rng.random(p.shape) < p).astype(np.float32)
        held = s[:, :cols]
        onset = np.maximum(s[:, cols:] * held, held * (1 - x[:, :cols]))
        x = np.concatenate([held, onset], 1)
        rows.append(x[0])
    return np.stack(rows).astype(np.uint8)


# --- back to MIDI --------------------------------------------------------------------------------


def to_midi(m: np.ndarray, layout: Layout = PAPER, steps_per_second: float = 16.0, velocity: int = 64, ticks_per_quarter: int = 480) -> bytes:
    """A format-0 MIDI file from a (steps, 2C) held+onset matrix (notebook 04).

    A key sounds from a step where it is struck (or starts to be held) until it stops being
    held or is struck again. Tempo: ``steps_per_second`` steps of ``1/steps_per_beat`` quarter
    each. Velocity: ``velocity`` for every note, +12 for the highest note of each onset (the
    melody voice, louder in both genres' performances), clipped 1-127. Pedal columns become
    controller changes (127 on press, 0 on release).
    """
    m = np.asarray(m)
    cols = layout.columns
    held, onset = m[:, :cols] > 0, m[:, cols:] > 0
    tps = ticks_per_quarter // layout.steps_per_beat
    events = []  # (tick, order, bytes): offs before ons at the same tick
    prev = np.vstack([np.zeros((1, cols), bool), held[:-1]])
    struck = held & (onset | ~prev)
    keys = struck[:, : layout.keys]
    top = np.where(keys.any(1), layout.keys - 1 - np.argmax(keys[:, ::-1], 1), -1)
    padded = np.vstack([np.zeros((1, cols), bool), held, np.zeros((1, cols), bool)])
    for col in range(cols):
        h = padded[:, col]
        strikes = np.flatnonzero(struck[:, col])
        ends = np.flatnonzero(h[:-1] & ~h[1:])  # step after the last held step, in matrix steps
        for s in strikes:
            e = ends[np.searchsorted(ends, s, side="right")] if len(ends) else len(held)
            nxt = strikes[np.searchsorted(strikes, s, side="right")] if s != strikes[-1] else e
            e = min(e, nxt)
            if col < layout.keys:
                pitch = layout.low + col
                v = int(np.clip(velocity + (12 if top[s] == col else 0), 1, 127))
                events.append((int(s) * tps, 1, bytes([0x90, pitch, v])))
                events.append((int(e) * tps, 0, bytes([0x80, pitch, 0])))
            else:
                number = layout.pedals[col - layout.keys]
                events.append((int(s) * tps, 1, bytes([0xB0, number, 127])))
                events.append((int(e) * tps, 0, bytes([0xB0, number, 0])))
    return write_events(events, ticks_per_quarter, int(round(1e6 * layout.steps_per_beat / steps_per_second)))


def generate(genre: str, style, seconds: float = 30.0, temperature: float = 1.0, seed: int = 0, model=None, meta=None) -> np.ndarray:
    """(steps, 2C) matrix of ``seconds`` of ``genre`` music started from a style vector (notebook 04)."""
    if model is None:
        model, meta = load(genre)
    if temperature <= 0:
        raise MusicstyleError("--temperature", "must be > 0")
    key = ("gen", id(model))
    if key not in _CACHE:
        _CACHE[key] = Generator(model)
    steps = max(1, int(round(seconds * meta["steps_per_second"])))
    return _CACHE[key].sample(style, steps, temperature, seed)


def inspired_bytes(
    data: bytes, name: str, genre: str, seconds: float = 30.0, temperature: float = 1.0, seed: int = 0, dynamics: bool = True
) -> bytes:
    """New MIDI bytes of ``genre`` music started from the style vector of the given piece (notebook 04).

    The LSTM writes which keys and pedals are down; with ``dynamics`` the genre's shipped velocity
    CNN (``musicstyle.velocity``, notebook 02) then sets how hard each note is struck, else (or if
    that model is missing or finds no note) the rule of :func:`to_midi`.
    """
    from . import classifier

    perf = data if isinstance(data, Performance) else read_midi(bytes(data), name=name)
    model, meta = load(genre)
    m = generate(genre, classifier.style_vector(perf), seconds, temperature, seed, model, meta)
    out = to_midi(m, Layout.from_dict(meta["layout"]), meta["steps_per_second"], meta["velocity_median"])
    if dynamics and m[:, : PAPER.keys].any():
        try:
            from . import velocity

            vmodel, vmeta = velocity.load(genre)
            out = velocity.transfer_bytes(vmodel, out, f"{name} ({genre}, generated)", vmeta)
        except (ImportError, MusicstyleError):
            pass
    return out


# --- did it transfer? ----------------------------------------------------------------------------


def texture(m: np.ndarray, layout: Layout, steps_per_second: float) -> dict:
    """Note density (onsets per second), polyphony (keys held per sounding step), pedal share."""
    cols = layout.columns
    held, onset = m[:, : layout.keys] > 0, m[:, cols : cols + layout.keys] > 0
    sounding = held.any(1)
    out = {
        "seconds": len(m) / steps_per_second,
        "notes_per_s": float(onset.sum() / max(len(m) / steps_per_second, 1e-9)),
        "polyphony": float(held.sum(1)[sounding].mean()) if sounding.any() else 0.0,
        "silence": float(1 - sounding.mean()) if len(m) else 1.0,
    }
    for j, number in enumerate(layout.pedals):
        out[f"cc{number}_down"] = float((m[:, layout.keys + j] > 0).mean()) if len(m) else 0.0
    return out


# --- benchmark -----------------------------------------------------------------------------------


def bench_generate(genre: str = "classical", steps: int | None = None, repeats: int = 3) -> dict:
    """Compiled loop against one ``model.predict`` per step, same number of steps, one run.

    ``seconds_for_30s``: sampling 30 s of music and writing it as MIDI, model loaded and the loop
    traced once (the first call compiles). Printed by ``musicstyle bench generate``.
    """
    import time

    from . import classifier
    from .data.examples import default_piece

    model, meta = load(genre)
    style = classifier.style_vector(read_midi(default_piece()))
    steps_30 = int(round(30 * meta["steps_per_second"]))
    steps = steps or steps_30
    gen = Generator(model)
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
        to_midi(m, layout, meta["steps_per_second"], meta["velocity_median"])
        music = min(music, time.perf_counter() - t0)
    sm = step_model(model)
    naive_sample(model, style, 2, sm=sm, gen=gen)  # build the step model's predict function once
    t0 = time.perf_counter()
    naive_sample(model, style, steps, sm=sm, gen=gen)
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


def transfer_study(pieces_by_genre: dict, per_source: int = 3, seconds: float = 30.0, temperature: float = 1.0, seed: int = 0) -> dict:
    """Did it transfer? Generate ``seconds`` of each genre from the style vectors of ``per_source``
    pieces of each genre, and measure the results beside the real pieces (notebooks 04 and 05).

    Returns ``{"generated": [rows], "real": {genre: row}}``; a row holds the classifier's jazz
    probability, note density, polyphony, silence, pedal shares and the sustain press lengths.
    Real rows measure the first ``seconds`` of every given piece (whole pieces for pedal lengths).
    """
    from . import classifier
    from .core.pedal import generated_press_lengths, press_lengths

    out = {"generated": [], "real": {}}
    for source, pieces in pieces_by_genre.items():
        real_tex, real_jazz = [], []
        for p in pieces:
            m = matrix(p.performance, PAPER)
            sps = len(m) / max(p.performance.duration_s, 1e-9)
            real_tex.append(texture(m[: int(seconds * sps)], PAPER, sps))
            real_jazz.append(classifier.verdict(p.performance)["jazz"])
        out["real"][source] = {
            "pieces": len(pieces),
            "jazz_probability": float(np.mean(real_jazz)),
            **{k: float(np.mean([t[k] for t in real_tex])) for k in real_tex[0] if k != "seconds"},
            "press_lengths": np.concatenate([press_lengths(p.performance) for p in pieces]),
        }
    for target in GENRES:
        model, meta = load(target)
        layout = Layout.from_dict(meta["layout"])
        for source, pieces in pieces_by_genre.items():
            for i, p in enumerate(pieces[:per_source]):
                m = generate(target, classifier.style_vector(p.performance), seconds, temperature, seed + i, model, meta)
                data = to_midi(m, layout, meta["steps_per_second"], meta["velocity_median"])
                row = {"target": target, "inspired_by": source, "piece": p.name}
                row["jazz_probability"] = classifier.verdict(data)["jazz"] if m[:, : layout.keys].any() else float("nan")
                row.update({k: v for k, v in texture(m, layout, meta["steps_per_second"]).items() if k != "seconds"})
                row["press_lengths"] = generated_press_lengths(m, layout, meta["steps_per_second"])
                row["midi"] = data
                out["generated"].append(row)
    return out


def architecture_figure(ax=None, units: int = 256):
    """The conditioning drawn: style vector -> dense -> (h0, c0) -> LSTM steps -> sigmoid outputs (notebook 04)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.2, 5)
    ax.axis("off")

    def box(x, y, w, h, text, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="black", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)

    def arrow(a, b):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=10, lw=1))

    box(0.1, 3.9, 1.9, 0.8, "piece (keys only)\n-> genre classifier", "#dddddd")
    box(0.1, 2.5, 1.9, 0.8, "style vector\n(50, mean of windows)", "#9ecae1")
    box(0.1, 1.0, 1.9, 0.9, "dense -> h0 (tanh)\ndense -> c0", "#fdd0a2")
    arrow((1.05, 3.9), (1.05, 3.3))
    arrow((1.05, 2.5), (1.05, 1.9))
    xs = [3.0, 4.9, 6.8, 8.7]
    for j, x in enumerate(xs):
        t = ["t", "t+1", "t+2"][j] if j < 3 else ""
        box(x - 0.55, 1.0, 1.1, 0.9, f"LSTM({units})\nstep {t}" if j < 3 else "...", "#fdae6b")
        box(x - 0.55, 0.0, 1.1, 0.6, f"held+onset\nrow {t}" if j < 3 else "", "#ffffb2")
        box(x - 0.55, 2.5, 1.1, 0.8, f"sigmoid 59\nheld {['t+1', 't+2', 't+3'][j]}" if j < 3 else "", "#a1d99b")
        arrow((x, 0.6), (x, 1.0))
        arrow((x, 1.9), (x, 2.5))
        if j:
            arrow((xs[j - 1] + 0.55, 1.45), (x - 0.55, 1.45))
    arrow((2.0, 1.45), (xs[0] - 0.55, 1.45))
    ax.text(2.05, 1.55, "h0, c0", fontsize=7)
    for j in range(2):
        arrow((xs[j] + 0.3, 3.3), (xs[j + 1] - 0.3, 0.6))
    ax.text(5.0, 4.2, "training: the true row t+1 is the next input (teacher forcing)\n"
            "generation: a Bernoulli sample of the outputs is fed back", ha="center", fontsize=8)
    return ax
