"""Velocity style transfer: dilated 1-D CNNs that predict how hard each note is struck.

Taught in ``notebooks/02_velocity_cnn.ipynb`` (the CS230 paper's velocity "WaveNet").

Two architectures, one model per genre. The loss of both is the paper's masked L2: squared error
over the strikes (target velocity > 0), averaged per window.

* ``paper``: the reference stack on the piano roll in the paper's 59-column layout (keys 32-88,
  CC64, CC67; 8 steps per beat): Conv1D(59, k64, d1) -> BN -> Conv1D(59, k32, d2) -> BN ->
  Conv1D(59, k16, d4) -> BN -> ReLU, causal padding, fed the held ("chords") matrix, times the
  key-onset mask, so a velocity comes out for each of the 57 key columns where a key is struck.
  Taken literally (``fixed=False``) its last batch norm starts at 0 and its ReLU leaves about half
  of the outputs at exactly 0 while the targets average ~60: Adam (lr 1e-3) needs tens of
  thousands of steps to move the bias that far, so it trains worse than predicting the mean. The
  fixed setting (the default) starts the last batch norm's offset at the training mean velocity.
* ``improved``: a dilated CNN over the sequence of *notes* rather than grid steps: one row per note
  (:mod:`musicstyle.notefeatures`: pitch, place in its chord, exact timing and length, pedal
  depth, what sounds around it; never a velocity), gated residual blocks of two-sided dilated
  convolutions (kernel 3, dilations 1 to 256: 1,023 notes of context), a small per-note output
  layer, and a piece-level loudness estimate (a ridge regression on the whole piece's statistics,
  fitted in closed form and frozen) added to every note. A grid step holds at most one strike per
  key at 8 steps per beat and loses timing finer than a step; a note sequence keeps every strike
  and its exact timing, and the whole piece is one pass at inference.

Both are evaluated on the same strikes: every note of the paper's key range (MIDI 32-88).

A model predicts the *mean* velocity of a note given the notes (what minimises the squared error),
which is smoother than any playing: real velocities also vary from chord to chord in ways the notes
do not explain, and how much and how steadily is part of a genre's style (jazz varies more and less
steadily). Each model therefore carries its genre's *texture*, fitted on validation pieces after
training (:func:`fit_texture`): the residual (true minus predicted, each piece's mean removed) as an
AR(1) series over chords plus independent noise per note. Transfer (:func:`transferred_velocities`)
writes the mean plus one seeded draw of that texture; ``texture=False`` writes the mean alone. The
RMSE figures are always of the mean.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path

import numpy as np

from .data import pieces_checksum
from .core.notes import chord_ids as chords
from .errors import MusicstyleError
from .core.midi import Performance, read_midi, rewrite_velocities
from .core.notes import NOTE_FEATURES, note_features, statistics
from .core.roll import PAPER, Layout, Roll, piano_roll, step_of

GENRES = ("classical", "jazz")
ARCHS = ("improved", "paper")
KIND = "velocity"
#: Training window: steps for the paper model (1,024 steps is about a minute at 120 qpm), notes for
#: the improved one.
WINDOW = 1024
SPLIT_SEED = 0
#: Dilations of the improved model's gated blocks (kernel 3 each).
DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: A trained member is kept in the average while its best validation loss is within this factor of
#: the best member's (a seed whose run went wrong is left out).
KEEP_WITHIN = 1.1
#: Output scale of the improved model (velocity units per output unit).
SCALE = 16.0
#: Largest loudness offset (velocity units) of the improved model's piece-level estimate.
LOUDNESS_RANGE = 30.0

_META: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# --- inputs ---------------------------------------------------------------------------------------


def features(roll: Roll) -> np.ndarray:
    """Paper model input of a roll: onset and held side by side, ``(steps, 2 * columns)`` uint8."""
    return np.concatenate([roll.onset, roll.held], axis=1)


def targets(roll: Roll) -> np.ndarray:
    """Velocity at key onsets (0 elsewhere), ``(steps, keys)`` uint8; pedal columns dropped."""
    k = roll.layout.keys
    return np.where(roll.onset[:, :k] > 0, roll.velocity[:, :k], 0).astype(np.uint8)


PIECE_FEATURES = ("on_grid", "log_qpm", "tempo_changes_per_min", "has_sustain", "log_notes_per_s", "ends_on_grid",
                  "log_median_duration_s", "short_notes", "log_median_ioi_s", "spread_chords", "pitch_spread", "log_notes_per_onset")


def piece_features(perf: Performance) -> np.ndarray:
    """How the file was made and played, from notes and timing alone (never velocities), shape (12,).

    Share of note onsets and ends exactly on a 16th-note tick grid (quantised, sequenced files
    versus live playing), median tempo, tempo changes per minute, whether the sustain pedal is
    used, notes per second; then, in seconds: median note length, share of notes under 0.1 s,
    median time between onsets, share of onsets less than 30 ms apart (spread chords), spread of
    pitches (octaves), notes per distinct onset time. In TPD these tell loud, sequenced files from
    softer live ones (see :data:`PIECE_FEATURES`).
    """
    n, tpq = perf.notes, perf.ticks_per_quarter
    grid = max(tpq // 4, 1)
    qpm = 60e6 / float(np.median(perf.tempos["us_per_quarter"])) if len(perf.tempos) else 120.0
    minutes = max(perf.duration_s, 1.0) / 60
    start, end = perf.seconds(n["start"]), perf.seconds(n["end"])
    length = np.maximum(end - start, 1e-3) if len(n) else np.array([0.1])
    times = np.unique(start) if len(n) else np.zeros(1)
    ioi = np.diff(times) if len(times) > 2 else np.array([0.1])
    return np.array([
        np.mean(n["start"] % grid == 0) if len(n) else 0.0,
        np.log(qpm),
        np.log1p(len(perf.tempos) / minutes),
        float((perf.controls["number"] == 64).any()) if len(perf.controls) else 0.0,
        np.log(max(len(n), 1) / (minutes * 60)),
        np.mean(n["end"] % grid == 0) if len(n) else 0.0,
        np.log(np.median(length)),
        np.mean(length < 0.1),
        np.log(np.median(ioi) + 1e-3),
        np.mean(ioi < 0.03),
        np.std(n["pitch"]) / 12 if len(n) else 0.0,
        np.log(max(len(n), 1) / max(len(times), 1)),
    ], np.float32)


def piece_input(perf: Performance, notes: np.ndarray | None = None) -> np.ndarray:
    """What the improved model's loudness estimate reads of a whole piece: the mean and spread of
    every note feature (:func:`musicstyle.notefeatures.statistics`), then :func:`piece_features`."""
    notes = note_features(perf) if notes is None else notes
    return np.concatenate([statistics(notes), piece_features(perf)]).astype(np.float32)


#: Length of :func:`piece_input`.
PIECE_INPUT = 2 * len(NOTE_FEATURES) + len(PIECE_FEATURES)


# --- loss and layers ------------------------------------------------------------------------------


def masked_mse(y_true, y_pred):
    """The paper's masked L2 per window: mean of (pred - true)^2 over cells with true > 0.

    ``y_true`` holds velocities at key onsets and 0 elsewhere; a window without onsets costs 0.
    """
    from keras import ops

    y_true = ops.cast(y_true, y_pred.dtype)
    mask = ops.cast(y_true > 0, y_pred.dtype)
    sq = ops.square(y_pred - y_true) * mask
    axes = tuple(range(1, len(y_pred.shape)))
    return ops.sum(sq, axis=axes) / ops.maximum(ops.sum(mask, axis=axes), 1.0)


def _layers():
    """Custom layers, defined lazily so importing this module does not import Keras."""
    global _LAYERS
    if "_LAYERS" in globals():
        return _LAYERS
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="musicstyle")
    class Columns(keras.layers.Layer):
        """Columns ``start:stop`` of the last axis, as float."""

        def __init__(self, start: int, stop: int, **kwargs):
            super().__init__(**kwargs)
            self.start, self.stop = start, stop

        def call(self, x):
            return ops.cast(x[..., self.start : self.stop], self.compute_dtype)

        def get_config(self):
            return {**super().get_config(), "start": self.start, "stop": self.stop}

    @keras.saving.register_keras_serializable(package="musicstyle")
    class OnsetMask(keras.layers.Layer):
        """Keep ``values`` (first ``keys`` columns) only where a key is struck in ``inputs``."""

        def __init__(self, keys: int, **kwargs):
            super().__init__(**kwargs)
            self.keys = keys

        def call(self, values, inputs):
            mask = ops.cast(inputs[..., : self.keys] > 0, values.dtype)
            return values[..., : self.keys] * mask

        def get_config(self):
            return {**super().get_config(), "keys": self.keys}

    @keras.saving.register_keras_serializable(package="musicstyle")
    class GatedBlock(keras.layers.Layer):
        """WaveNet block: tanh(conv) * sigmoid(conv), two-sided dilated, 1x1 back, residual."""

        def __init__(self, channels: int, dilation: int, kernel: int = 3, **kwargs):
            super().__init__(**kwargs)
            self.channels, self.dilation, self.kernel = channels, dilation, kernel
            self.conv = keras.layers.Conv1D(2 * channels, kernel, dilation_rate=dilation, padding="same")
            self.out = keras.layers.Conv1D(channels, 1)

        def build(self, shape):
            self.conv.build(shape)
            self.out.build(tuple(shape[:-1]) + (self.channels,))

        def call(self, x):
            a, b = ops.split(self.conv(x), 2, axis=-1)
            return x + self.out(ops.tanh(a) * ops.sigmoid(b))

        def get_config(self):
            return {**super().get_config(), "channels": self.channels, "dilation": self.dilation, "kernel": self.kernel}

    @keras.saving.register_keras_serializable(package="musicstyle")
    class NoteMask(keras.layers.Layer):
        """``values`` (batch, notes, 1) as (batch, notes), 0 on padding rows (pitch 0) of ``notes``."""

        def call(self, values, notes):
            return values[..., 0] * ops.cast(notes[..., 0] > 0, values.dtype)

    _LAYERS = {"Columns": Columns, "OnsetMask": OnsetMask, "GatedBlock": GatedBlock, "NoteMask": NoteMask}
    return _LAYERS


# --- models ---------------------------------------------------------------------------------------


def paper_model(layout: Layout = PAPER, mean_velocity: float = 0.0, fixed: bool = True, name: str = "velocity_paper"):
    """The CS230 velocity CNN (causal Conv1D 59 filters, kernels 64/32/16, dilations 1/2/4, BN, ReLU).

    ``fixed=True`` starts the last batch norm's offset at ``mean_velocity`` so the ReLU is not
    stuck at 0; ``fixed=False`` is the literal stack. Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    import keras

    L = _layers()
    c = layout.columns
    inputs = keras.Input((None, 2 * c), name="roll")
    x = L["Columns"](c, 2 * c, name="held")(inputs)  # the paper feeds the chords (held) matrix
    for i, (k, d) in enumerate(((64, 1), (32, 2), (16, 4))):
        x = keras.layers.Conv1D(c, k, dilation_rate=d, padding="causal", name=f"conv{i + 1}")(x)
        beta = keras.initializers.Constant(mean_velocity if (fixed and i == 2) else 0.0)
        x = keras.layers.BatchNormalization(beta_initializer=beta, name=f"bn{i + 1}")(x)
    x = keras.layers.ReLU(name="relu")(x)
    out = L["OnsetMask"](layout.keys, name="onset_mask", dtype="float32")(x, inputs)
    return keras.Model(inputs, out, name=name)


def improved_model(
    mean_velocity: float = 64.0,
    note_mean=None,
    note_var=None,
    channels: int = 48,
    dilations=DILATIONS,
    loudness: dict | None = None,
    name: str = "velocity_improved",
):
    """Gated residual two-sided dilated CNN over a piece's notes with a frozen piece loudness estimate.

    Inputs: ``notes`` (batch, notes, len(NOTE_FEATURES)), standardised inside the model by
    ``note_mean`` / ``note_var`` (the training notes'), and ``piece`` (batch, PIECE_INPUT), the
    whole piece's :func:`piece_input`. Output: a velocity per note (0 on padding rows). The output
    starts at ``mean_velocity``; ``loudness`` is :func:`fit_loudness`'s result.
    Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    import keras

    L = _layers()
    f = len(NOTE_FEATURES)
    note_mean = np.zeros(f) if note_mean is None else note_mean
    note_var = np.ones(f) if note_var is None else note_var
    notes = keras.Input((None, f), name="notes")
    piece = keras.Input((PIECE_INPUT,), name="piece")
    x = keras.layers.Normalization(mean=np.asarray(note_mean, np.float32), variance=np.asarray(note_var, np.float32) + 1e-4,
                                   name="standardise_notes")(notes)
    h = keras.layers.Conv1D(channels, 1, name="embed")(x)
    for d in dilations:
        h = L["GatedBlock"](channels, d, name=f"block_d{d}")(h)
    # the piece's loudness: a linear function of its statistics (fitted in closed form by
    # fit_loudness, then frozen), bounded to +-LOUDNESS_RANGE by tanh; the convolutions learn the rest
    loud = loudness or {"mu": np.zeros(PIECE_INPUT), "var": np.ones(PIECE_INPUT), "w": np.zeros(PIECE_INPUT)}
    z = keras.layers.Normalization(mean=np.asarray(loud["mu"], np.float32), variance=np.asarray(loud["var"], np.float32),
                                   name="standardise_piece")(piece)
    r = keras.layers.Dense(1, name="loudness", trainable=False, use_bias=False,
                           kernel_initializer=keras.initializers.Constant(np.asarray(loud["w"], np.float32).reshape(-1, 1) / LOUDNESS_RANGE))(z)
    r = keras.layers.Reshape((1, 1), name="per_note")(keras.layers.Activation("tanh", name="bounded")(r))
    h = keras.layers.Add(name="with_loudness_hint")([h, keras.layers.Dense(channels, name="hint")(r)])
    h = keras.layers.Concatenate(name="with_input")([h, x])
    h = keras.layers.Conv1D(64, 1, activation="relu", name="head")(h)
    # outputs in units of SCALE velocity steps, so Adam's step size suits velocities of 1-127
    out = keras.layers.Conv1D(1, 1, name="velocity", kernel_initializer=keras.initializers.RandomNormal(stddev=0.01 / SCALE),
                              bias_initializer=keras.initializers.Constant(mean_velocity / SCALE))(h)
    out = keras.layers.Add(name="with_loudness")([out, keras.layers.Rescaling(LOUDNESS_RANGE / SCALE, name="loudness_scale")(r)])
    out = keras.layers.Rescaling(SCALE, name="to_velocity")(out)
    out = L["NoteMask"](name="note_mask", dtype="float32")(out, notes)
    return keras.Model([notes, piece], out, name=name)


def build_model(arch: str, layout: Layout = PAPER, mean_velocity: float = 0.0, fixed: bool = True, note_mean=None,
                note_var=None, loudness: dict | None = None, channels: int = 48, name: str | None = None):
    """``paper`` or ``improved`` model (see the module docstring)."""
    name = name or f"velocity_{arch}"
    if arch == "paper":
        return paper_model(layout, mean_velocity, fixed=fixed, name=name)
    if arch == "improved":
        return improved_model(mean_velocity, note_mean, note_var, channels=channels, loudness=loudness, name=name)
    raise MusicstyleError(arch, f"unknown architecture (choose from {', '.join(ARCHS)})")


def average_model(models: list, name: str = "velocity_average"):
    """One model whose output is the mean of ``models``' outputs (same inputs): a seed ensemble.

    The members are copied without their training state (optimizer, loss), so the result saves bare.
    """
    import keras

    _layers()
    bare = []
    for m in models:
        copy = keras.Model.from_config(m.get_config())
        copy.set_weights(m.get_weights())
        bare.append(copy)
    inputs = [keras.Input(t.shape[1:], name=f"input_{i + 1}") for i, t in enumerate(models[0].inputs)]
    outs = [m(inputs if len(inputs) > 1 else inputs[0]) for m in bare]
    return keras.Model(inputs, keras.layers.Average(name="mean")(outs), name=name)


def _np(tensor) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(tensor))


def is_note_model(model) -> bool:
    """True for the improved (note-sequence) model, False for the paper's grid model."""
    return len(model.inputs) == 2


def receptive_field(arch: str) -> int:
    """Inputs one output sees: paper, steps of the past only; improved, notes on both sides."""
    if arch == "paper":
        return 1 + 63 * 1 + 31 * 2 + 15 * 4
    return 1 + 2 * sum(DILATIONS)


def draw_dilations(dilations=(1, 2, 4), kernel: int = 2, causal: bool = True, ax=None, width: int = 16):
    """The paper's Figure IV.1: stacked dilated convolutions and the inputs one output step sees.

    Every layer's nodes are drawn as dots; the lines trace what the last output node depends on.
    Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 3))
    layers = len(dilations) + 1
    for level in range(layers):
        ax.scatter(range(width), [level] * width, s=18, c="lightgray" if level else "gold", zorder=2)
    target = {width - 1 if causal else width // 2}
    for level in range(layers - 1, 0, -1):
        d = dilations[level - 1]
        offsets = [-(kernel - 1 - i) * d for i in range(kernel)] if causal else [(i - (kernel - 1) // 2) * d for i in range(kernel)]
        below = set()
        for t in target:
            for o in offsets:
                if 0 <= t + o < width:
                    ax.plot([t, t + o], [level, level - 1], color="tab:blue", lw=1, zorder=1)
                    below.add(t + o)
        ax.scatter(sorted(target), [level] * len(target), s=30, c="tab:blue", zorder=3)
        target = below
    ax.scatter(sorted(target), [0] * len(target), s=30, c="tab:orange", zorder=3)
    ax.set_yticks(range(layers))
    ax.set_yticklabels(["input"] + [f"dilation {d}" for d in dilations])
    ax.set_xlabel("time step")
    ax.set_title(f"kernel {kernel}, dilations {', '.join(map(str, dilations))}: receptive field {len(target)} steps")
    return ax


# --- data -----------------------------------------------------------------------------------------


class Prepared:
    """What the models and baselines need of a list of pieces (one entry per piece).

    ``x`` / ``y``: the paper model's grid input and targets; ``notes`` / ``velocity``: the improved
    model's note features and every note's velocity; ``piece``: :func:`piece_input`; ``step`` /
    ``column``: each note's grid cell (column -1 outside the layout's key range); ``chord``: each
    note's chord id (:func:`musicstyle.dynamics.chords`). Pieces with no note in the key range are
    left out.
    """

    def __init__(self, pieces, layout: Layout = PAPER):
        self.names, self.x, self.y, self.notes, self.velocity, self.piece, self.step, self.column, self.chord = ([] for _ in range(9))
        for p in pieces:
            perf = p.performance if hasattr(p, "performance") else p
            try:
                roll = piano_roll(perf, layout)
            except MusicstyleError:
                continue  # no notes in range / too long: nothing to learn from
            nf = note_features(perf)
            pitch = perf.notes["pitch"].astype(np.int64)
            self.names.append(getattr(perf, "name", ""))
            self.x.append(features(roll))
            self.y.append(targets(roll))
            self.notes.append(nf)
            self.velocity.append(perf.notes["velocity"].copy())
            self.piece.append(piece_input(perf, nf))
            self.step.append(np.minimum(step_of(perf.notes["start"], perf.ticks_per_quarter, layout.steps_per_beat), roll.steps - 1))
            self.column.append(np.where((pitch >= layout.low) & (pitch <= layout.high), pitch - layout.low, -1))
            self.chord.append(chords(perf.seconds(perf.notes["start"])))
        self.layout = layout

    @property
    def steps(self) -> int:
        return sum(len(x) for x in self.x)

    @property
    def note_count(self) -> int:
        return sum(len(v) for v in self.velocity)

    def note_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of every note feature over all notes (the improved model's standardisation)."""
        every = np.concatenate(self.notes).astype(np.float64)
        return every.mean(0), every.var(0)

    def onset_velocities(self) -> np.ndarray:
        """(velocity, key column) of every note in the key range."""
        parts = [np.stack([v[c >= 0], c[c >= 0]], 1).astype(np.int64) for v, c in zip(self.velocity, self.column)]
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)

    def _spots(self, sizes: list[int], length: int, rng, count):
        if rng is None:
            return [(i, s) for i, n in enumerate(sizes) for s in range(0, max(n - length // 4, 1), length)]
        sizes = np.array(sizes, float)
        n = count or max(1, int(sizes.sum() // length))
        which = rng.choice(len(sizes), n, p=sizes / sizes.sum())
        return [(i, int(rng.integers(0, max(int(sizes[i]) - length, 0) + 1))) for i in which]

    def windows(self, length: int, rng: np.random.Generator | None = None, count: int | None = None):
        """Grid windows ``(x, y)`` of ``length`` steps inside pieces (never across two), zero-padded.

        With ``rng``: as many windows as fit in the total length, at random pieces (by length)
        and offsets (``count`` of them if given); without: consecutive windows of every piece.
        """
        spots = self._spots([len(x) for x in self.x], length, rng, count)
        xs = np.zeros((len(spots), length, self.x[0].shape[1]), np.uint8)
        ys = np.zeros((len(spots), length, self.y[0].shape[1]), np.uint8)
        for j, (i, s) in enumerate(spots):
            seg = self.x[i][s : s + length]
            xs[j, : len(seg)] = seg
            ys[j, : len(seg)] = self.y[i][s : s + length]
        return xs, ys

    def note_windows(self, length: int, rng: np.random.Generator | None = None, count: int | None = None):
        """Windows ``((notes, piece), velocity)`` of ``length`` notes, as :meth:`windows` picks them;
        padding rows are all 0 (pitch 0, velocity 0: no loss there)."""
        spots = self._spots([len(v) for v in self.velocity], length, rng, count)
        ns = np.zeros((len(spots), length, len(NOTE_FEATURES)), np.float32)
        vs = np.zeros((len(spots), length), np.uint8)
        for j, (i, s) in enumerate(spots):
            seg = self.notes[i][s : s + length]
            ns[j, : len(seg)] = seg
            vs[j, : len(seg)] = self.velocity[i][s : s + length]
        return (ns, np.stack([self.piece[i] for i, _ in spots])), vs


def baselines(train: Prepared) -> dict:
    """Training mean velocity and per-key means over notes in the key range (keys never struck get the mean)."""
    v = train.onset_velocities()
    mean = float(v[:, 0].mean()) if len(v) else 64.0
    k = train.layout.keys
    sums = np.bincount(v[:, 1], weights=v[:, 0], minlength=k)
    counts = np.bincount(v[:, 1], minlength=k)
    per = np.where(counts > 0, sums / np.maximum(counts, 1), mean)
    return {"train_mean": round(mean, 4), "pitch_means": [round(float(a), 4) for a in per], "train_onsets": int(len(v))}


def fit_loudness(train: Prepared, validation: Prepared, lambdas=(0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)) -> dict:
    """Ridge regression of each piece's mean velocity on its :func:`piece_input`, in closed form.

    Standardised on the train pieces; the penalty chosen by leave-one-out error over the train
    pieces (closed form; steadier than the few validation pieces). Returns the standardisation,
    weights and figures (leave-one-out and validation per-note RMSE of the piece means).
    """
    def table(p: Prepared):
        z = np.array(p.piece, np.float64)
        m = np.array([v.mean() for v in p.velocity], np.float64)
        n = np.array([len(v) for v in p.velocity], np.float64)
        return z, m, n

    zt, mt, nt = table(train)
    zv, mv, nv = table(validation)
    mean = float((mt * nt).sum() / nt.sum())
    mu, var = zt.mean(0), zt.var(0) + 1e-4
    a, av = (zt - mu) / np.sqrt(var), (zv - mu) / np.sqrt(var)
    best = None
    for lam in lambdas:
        inverse = np.linalg.inv(a.T @ a + lam * np.eye(a.shape[1]))
        w = inverse @ a.T @ (mt - mean)
        leverage = np.einsum("ij,jk,ik->i", a, inverse, a)
        loo = float(np.sqrt(np.mean((((mt - mean) - a @ w) / (1 - leverage)) ** 2)))
        if best is None or loo < best["loo_piece_rmse"]:
            best = {"lambda": lam, "w": w, "loo_piece_rmse": loo}
    pred = mean + LOUDNESS_RANGE * np.tanh((av @ best["w"]) / LOUDNESS_RANGE)
    val = float(np.sqrt((nv * (pred - mv) ** 2).sum() / nv.sum()))
    base = float(np.sqrt((nv * (mean - mv) ** 2).sum() / nv.sum()))
    return {"mu": mu, "var": var, "w": best["w"], "mean": mean, "lambda": best["lambda"],
            "loo_piece_rmse": round(best["loo_piece_rmse"], 3), "val_piece_rmse": round(val, 3),
            "val_piece_rmse_mean": round(base, 3)}


# --- training -------------------------------------------------------------------------------------


def train(
    genre: str,
    arch: str = "improved",
    data=None,
    epochs: int = 40,
    window: int = WINDOW,
    batch: int = 8,
    patience: int = 6,
    strategy=None,
    fixed: bool = True,
    collection=None,
    seed: int = 0,
    verbose: int = 2,
    learning_rate: float = 1e-3,
    windows_per_epoch: int | None = None,
    init=None,
    channels: int = 48,
    transpose: int = 3,
    members: int = 1,
    loudness_penalty: float | None = None,
):
    """Train one genre's model on the piece-level train split with early stopping on validation.

    Every epoch draws ``windows_per_epoch`` fresh random windows (None: as many as fit the data).
    Every second epoch in a row without a better validation loss goes back to the best weights so
    far and halves the learning rate; ``patience`` such epochs in a row end training.
    ``data``: a folder (default: TPD found as usual) or ``collection`` an already loaded one.
    ``strategy``: a ``tf.distribute`` strategy (default: :func:`musicstyle.device.strategy`).
    Mixed precision is turned on only when a GPU is present. ``init``: a model file of the same
    genre and architecture to continue training from. ``transpose``: move each training window of
    the improved model by a random whole number of semitones up to this many, either way.
    ``members``: train this many networks (seeds ``seed``, ``seed + 1``, ...), each with its own
    early stopping, and return one model that averages the outputs (:func:`average_model`) of those
    whose best validation loss is within :data:`KEEP_WITHIN` of the best one's.
    ``loudness_penalty``: the ridge penalty of :func:`fit_loudness` (default: chosen by leave-one-out).
    Returns ``(model, metadata, history)``; ``history["member"]`` says which network each epoch
    trained. Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    import keras

    from . import __version__
    from .training import device
    from .data import load_dataset, load_folder

    if genre not in GENRES:
        raise MusicstyleError(genre, f"unknown genre (choose from {', '.join(GENRES)})")
    if arch not in ARCHS:
        raise MusicstyleError(arch, f"unknown architecture (choose from {', '.join(ARCHS)})")
    if collection is None:
        collection = load_folder(data, progress=verbose > 0) if data is not None and not _is_tpd(data) else load_dataset("tpd", data, progress=verbose > 0)
    parts = collection.split(seed=SPLIT_SEED)
    tr = [p for p in parts["train"] if p.genre == genre]
    va = [p for p in parts["validation"] if p.genre == genre]
    if not tr:
        raise MusicstyleError(collection.root, f"no {genre} pieces in the train split")
    if not va:  # tiny folders: validate on the training pieces rather than not at all
        va = tr
    train_data, val_data = Prepared(tr), Prepared(va)
    if not train_data.x:
        raise MusicstyleError(collection.root, f"no {genre} piece has notes in the key range")
    base = baselines(train_data)
    mixed = device.use_mixed_precision_if_gpu()
    keras.utils.set_random_seed(seed)
    strategy = strategy or device.strategy()
    notes = arch == "improved"
    penalties = {} if loudness_penalty is None else {"lambdas": (float(loudness_penalty),)}
    loud = fit_loudness(train_data, val_data, **penalties) if notes and init is None else None
    if init is not None:
        with strategy.scope():
            init_model, init_meta = load_file(init)
        if (init_meta.get("genre"), init_meta.get("arch")) != (genre, arch):
            raise MusicstyleError(init, f"holds a {init_meta.get('genre')} {init_meta.get('arch')} model, not {genre} {arch}")
        members = 1
    note_mean, note_var = train_data.note_moments()

    def draw(data, rng=None, count=None):
        if not notes:
            return data.windows(window, rng, count)
        (x, piece), y = data.note_windows(window, rng, count)
        if rng is not None and transpose:  # each training window moved by up to +-transpose semitones
            shift = rng.integers(-transpose, transpose + 1, size=(len(x), 1)).astype(np.float32)
            x[..., 0] += np.where(x[..., 0] > 0, shift, 0)
        return (x, piece), y

    vx, vy = draw(val_data)
    history = {"member": [], "loss": [], "val_loss": [], "epoch_s": [], "learning_rate": []}
    trained, bests = [], []
    for member in range(members):
        keras.utils.set_random_seed(seed + member)
        rng = np.random.default_rng(seed + member)
        with strategy.scope():
            model = init_model if init is not None else build_model(
                arch, PAPER, base["train_mean"], fixed=fixed, note_mean=note_mean, note_var=note_var, loudness=loud,
                channels=channels, name=f"velocity_{arch}" + (f"_{member + 1}" if members > 1 else ""))
            model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=masked_mse)
        label = f"{genre} {arch}" + (f" member {member + 1}/{members}" if members > 1 else "")
        best, stale, best_weights = np.inf, 0, model.get_weights()
        for epoch in range(epochs):
            x, y = draw(train_data, rng, windows_per_epoch)
            lr = float(_np(model.optimizer.learning_rate))
            t0 = time.perf_counter()
            h = model.fit(x, y, batch_size=batch, epochs=1, validation_data=(vx, vy), verbose=1 if verbose > 1 else 0, shuffle=True)
            dt = time.perf_counter() - t0
            loss, val = float(h.history["loss"][-1]), float(h.history["val_loss"][-1])
            for key, value in (("member", member), ("loss", loss), ("val_loss", val), ("epoch_s", dt), ("learning_rate", lr)):
                history[key].append(value)
            if verbose:
                print(f"{label} epoch {epoch + 1}/{epochs}: loss {loss:.1f} (RMSE {loss ** 0.5:.2f}), "
                      f"val {val:.1f} (RMSE {val ** 0.5:.2f}), lr {lr:.2g}, {dt:.0f} s", flush=True)
            if val < best - 1e-6:
                best, stale, best_weights = val, 0, model.get_weights()
            else:
                stale += 1
                if stale >= patience:
                    break
                if stale % 2 == 0:
                    model.set_weights(best_weights)
                    model.optimizer.learning_rate.assign(lr / 2)
        model.set_weights(best_weights)
        trained.append(model)
        bests.append(best)
    # a member whose training went wrong (validation loss far above the best member's) is left out
    kept = [i for i, b in enumerate(bests) if b <= KEEP_WITHIN * min(bests)]
    model, best = trained[kept[0]], bests[kept[0]]
    if len(kept) > 1:
        with strategy.scope():
            model = average_model([trained[i] for i in kept], name=f"velocity_{arch}")
        best = float(np.mean(np.concatenate([
            _np(masked_mse(vy[i : i + batch], model.predict_on_batch(tuple(v[i : i + batch] for v in vx) if notes else vx[i : i + batch])))
            for i in range(0, len(vy), batch)])))
    texture = fit_texture(model, val_data)
    meta = {
        "kind": KIND,
        "genre": genre,
        "arch": arch,
        "fixed_init": bool(fixed) if arch == "paper" else None,
        "channels": (channels if init is None else init_meta.get("channels", 48)) if notes else None,
        "learning_rate": learning_rate,
        "continued_from": None if init is None else {"file": Path(init).name, "epochs_run": init_meta.get("epochs_run"),
                                                     "learning_rate": init_meta.get("learning_rate", 1e-3)},
        "layout": PAPER.to_dict(),
        "input": "note features (notes, len(NOTE_FEATURES)) + piece input" if notes else "onset+held (steps, 2*columns)",
        "note_features": list(NOTE_FEATURES) if notes else None,
        "window": window,
        "window_unit": "notes" if notes else "steps",
        "batch": batch,
        "split_seed": SPLIT_SEED,
        "train_pieces": len(train_data.x),
        "validation_pieces": len(val_data.x),
        "data_checksum": pieces_checksum(tr + va),
        "data_root": str(collection.root),
        "members": len(kept),
        "members_trained": members,
        "members_kept": [i + 1 for i in kept],
        "member_val_rmse": [round(float(b) ** 0.5, 4) for b in bests],
        "transpose": transpose if notes else None,
        "epochs_run": len(history["loss"]),
        "windows_per_epoch": windows_per_epoch,
        "best_val_rmse": round(float(best) ** 0.5, 4),
        "history": {k: [round(float(v), 6) for v in vals] for k, vals in history.items()},
        "mixed_precision": mixed,
        "replicas": int(getattr(strategy, "num_replicas_in_sync", 1)),
        "version": __version__,
        "texture": texture,
        "texture_fitted_on": "validation pieces" if va is not tr else "training pieces",
        "loudness": (init_meta.get("loudness") if init is not None else
                     {k: loud[k] for k in ("lambda", "loo_piece_rmse", "val_piece_rmse", "val_piece_rmse_mean")} if loud else None),
        **base,
    }
    return model, meta, history


def _is_tpd(path) -> bool:
    p = Path(path)
    return (p / "tpd").is_dir() or p.name == "tpd"


# --- saving and loading ---------------------------------------------------------------------------


def save(model, meta: dict, path) -> Path:
    """Save a velocity model with its metadata (see :mod:`musicstyle.modelio`); weights only, no optimizer state."""
    import keras

    from .training.modelfile import save_model

    if getattr(model, "optimizer", None) is not None:
        bare = keras.Model.from_config(model.get_config())
        bare.set_weights(model.get_weights())
        model = bare
    return save_model(model, path, meta)


def load_file(path) -> tuple:
    """Load a velocity model file in safe mode; clear :class:`MusicstyleError` for a wrong/corrupt file."""
    from .training.modelfile import load_model

    _layers()
    model, meta = load_model(path, KIND)
    if "layout" not in meta or "train_mean" not in meta:
        raise MusicstyleError(path, "velocity model metadata lacks layout or baselines")
    _META[model] = meta
    return model, meta


def pretrained_name(genre: str, arch: str = "improved") -> str:
    if genre not in GENRES:
        raise MusicstyleError(genre, f"unknown genre (choose from {', '.join(GENRES)})")
    if arch not in ARCHS:
        raise MusicstyleError(arch, f"unknown architecture (choose from {', '.join(ARCHS)})")
    return f"velocity_{genre}.keras" if arch == "improved" else f"velocity_{arch}_{genre}.keras"


_LOADED: dict = {}


def load(genre: str, arch: str = "improved"):
    """The shipped pretrained model of a genre, ``(model, meta)``, loaded once in safe mode.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    from .training.shipped import pretrained_path

    key = (genre, arch)
    if key not in _LOADED:
        _LOADED[key] = load_file(pretrained_path(pretrained_name(genre, arch)))
    return _LOADED[key]


# --- prediction and transfer ----------------------------------------------------------------------


def _layout_of(model, meta) -> Layout:
    meta = meta or _META.get(model)
    return Layout.from_dict(meta["layout"]) if meta else PAPER


def _run_grid(model, x: np.ndarray) -> np.ndarray:
    """The paper model on a whole roll input ``x`` (steps, 2*columns): velocity (steps, keys)."""
    steps = x.shape[0]
    pad = -steps % 256  # zeros after the end: a causal model's earlier outputs do not change
    xx = np.pad(np.asarray(x, np.float32), ((0, pad), (0, 0)))[None]
    return _np(model(xx, training=False)).astype(np.float32)[0, :steps]


def _run_notes(model, notes: np.ndarray, piece: np.ndarray) -> np.ndarray:
    """The improved model on a whole piece: velocity of every note row."""
    out = model([np.asarray(notes, np.float32)[None], np.asarray(piece, np.float32)[None]], training=False)
    return _np(out).astype(np.float32)[0]


def predict_notes(model, meta, perf: Performance) -> np.ndarray:
    """Predicted velocity (float) of every row of ``perf.notes``, same order, in one pass.

    The improved model predicts every note; the paper model the notes in its key range (the others
    keep their own velocity; several strikes of one key at one step share a prediction).
    Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    if is_note_model(model):
        nf = note_features(perf)
        return _run_notes(model, nf, piece_input(perf, nf))
    layout = _layout_of(model, meta)
    pred = _run_grid(model, features(piano_roll(perf, layout)))
    notes = perf.notes
    out = notes["velocity"].astype(np.float32)
    inside = (notes["pitch"] >= layout.low) & (notes["pitch"] <= layout.high)
    steps = np.minimum(step_of(notes["start"][inside], perf.ticks_per_quarter, layout.steps_per_beat), len(pred) - 1)
    out[inside] = pred[steps, notes["pitch"][inside].astype(np.int64) - layout.low]
    return out


def sample_texture(texture: dict, chord: np.ndarray, seed=0) -> np.ndarray:
    """One draw of a genre's texture for notes with chord ids ``chord`` (velocity units, mean 0).

    ``seed``: anything ``numpy.random.default_rng`` takes (an int, or a list of ints).
    Each chord gets a value of a stationary AR(1) series (standard deviation ``sigma_chord``,
    lag-1 correlation ``rho``), each note that plus independent noise (``sigma_note``).
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
    """The model's genre texture from its residuals on ``prepared`` (validation pieces), notes in the key range.

    Residual r = true - predicted, each piece's mean removed. ``sigma_note``: the pooled spread of
    r inside chords of two or more notes; ``sigma_chord``: the spread of the chords' mean r, less
    what the note noise adds to a mean; ``rho``: lag-1 autocovariance of the chords' mean r over
    ``sigma_chord`` squared (0 to 0.99). Taught in ``notebooks/02_velocity_cnn.ipynb``.
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
    """Seed of a piece's texture draw: ``seed`` and the file's SHA-256 (each file its own draw)."""
    return [seed, int(perf.sha256[:15], 16) if perf.sha256 else 0]


def transferred_velocities(model, meta, perf: Performance, texture: bool = True, seed: int = 0) -> np.ndarray:
    """The velocities transfer writes for ``perf.notes``: the model's mean prediction plus, with
    ``texture`` and where the model has one, a draw of its genre's texture (:func:`sample_texture`,
    ``seed`` and the file's SHA-256, so each piece gets its own draw and the same file the same),
    rounded and clipped to 1-127. Notes the model does not predict keep their velocity.
    Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    meta = meta or _META.get(model) or {}
    pred = predict_notes(model, meta, perf).astype(np.float64)
    if texture and meta.get("texture"):
        layout = _layout_of(model, meta)
        pitch = perf.notes["pitch"]
        predicted = np.ones(len(pitch), bool) if is_note_model(model) else (pitch >= layout.low) & (pitch <= layout.high)
        noise = sample_texture(meta["texture"], chords(perf.seconds(perf.notes["start"])), piece_seed(perf, seed))
        pred[predicted] += noise[predicted]
    return np.clip(np.rint(pred), 1, 127)


def transfer_bytes(model, data: bytes, name: str, meta=None, texture: bool = True, seed: int = 0) -> bytes:
    """MIDI bytes with only the note-on velocity bytes replaced by :func:`transferred_velocities`.

    Every other byte (times, pedal, meta events) is kept; a note-on gets the velocity of the note
    that starts at its tick on its key. Bad input raises :class:`MusicstyleError` naming ``name``.
    Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    perf = read_midi(data, name=name)
    perf.source = perf.source or name
    pred = transferred_velocities(model, meta, perf, texture, seed)  # the paper model: a clear error without notes in range
    keys = perf.notes["start"].astype(np.int64) * 128 + perf.notes["pitch"]
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]

    def new_velocity(ticks, pitches, old):
        k = np.asarray(ticks, np.int64) * 128 + np.asarray(pitches, np.int64)
        i = np.minimum(np.searchsorted(sorted_keys, k), len(sorted_keys) - 1)
        found = sorted_keys[i] == k  # drum notes (channel 10) are not notes of the performance
        out = np.asarray(old, np.float32).copy()
        out[found] = pred[order[i[found]]]
        return np.clip(out, 1, 127)

    return rewrite_velocities(data, new_velocity, name)


def transfer_file(model, src, dest, meta=None, texture: bool = True, seed: int = 0) -> Path:
    """Read ``src``, write the transferred MIDI to ``dest``; returns ``dest``."""
    src, dest = Path(src), Path(dest)
    if not src.is_file():
        raise MusicstyleError(src, "no such file")
    out = transfer_bytes(model, src.read_bytes(), str(src), meta, texture, seed)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(out)
    return dest


# --- evaluation -----------------------------------------------------------------------------------


def onset_predictions(model, prepared: Prepared) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per piece: (true velocity, predicted velocity, key column) of every note in the key range."""
    out = []
    for i, (v, c) in enumerate(zip(prepared.velocity, prepared.column)):
        inside = c >= 0
        if is_note_model(model):
            pred = _run_notes(model, prepared.notes[i], prepared.piece[i])[inside]
        else:
            pred = _run_grid(model, prepared.x[i])[prepared.step[i][inside], c[inside]]
        out.append((v[inside].astype(np.float64), pred.astype(np.float64), c[inside]))
    return out


def metrics(per_piece: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """RMSE, MAE, Pearson r and within-piece RMSE (each piece's mean error removed) over onsets."""
    true = np.concatenate([t for t, _ in per_piece]) if per_piece else np.zeros(0)
    pred = np.concatenate([p for _, p in per_piece]) if per_piece else np.zeros(0)
    err = pred - true
    within = np.concatenate([(p - t) - (p - t).mean() for t, p in per_piece if len(t)]) if per_piece else err
    r = float(np.corrcoef(true, pred)[0, 1]) if len(true) > 1 and np.ptp(pred) > 0 and np.ptp(true) > 0 else 0.0
    return {
        "rmse": round(float(np.sqrt(np.mean(err ** 2))), 3) if len(err) else None,
        "mae": round(float(np.mean(np.abs(err))), 3) if len(err) else None,
        "pearson_r": round(r, 4),
        "within_piece_rmse": round(float(np.sqrt(np.mean(within ** 2))), 3) if len(within) else None,
    }


def evaluate_pieces(pieces, genre: str, models: dict) -> dict:
    """Figures of each model in ``models`` (name -> (model, meta)) and the baselines on ``pieces``.

    The first model is the one reported as ``rmse``/``pearson_r``/...; the baselines use its
    metadata's training means. Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    prepared = Prepared(pieces)
    names = list(models)
    main_model, main_meta = models[names[0]]
    mean = float(main_meta["train_mean"])
    pitch = np.asarray(main_meta["pitch_means"], np.float64)
    result = {"genre": genre, "pieces": len(prepared.x), "onsets": len(prepared.onset_velocities())}
    if not prepared.x:
        return result
    figures = {}
    truth = None
    for name in names:
        model, _ = models[name]
        per = onset_predictions(model, prepared)
        truth = per
        figures[name] = metrics([(t, p) for t, p, _ in per])
    figures["mean_baseline"] = metrics([(t, np.full_like(t, mean)) for t, _, _ in truth])
    figures["pitch_mean_baseline"] = metrics([(t, pitch[c]) for t, _, c in truth])
    main = figures[names[0]]
    result.update(main)
    result["rmse_mean_baseline"] = figures["mean_baseline"]["rmse"]
    result["rmse_pitch_mean_baseline"] = figures["pitch_mean_baseline"]["rmse"]
    result["rmse_ratio"] = round(main["rmse"] / figures["mean_baseline"]["rmse"], 4)
    for name in names[1:]:
        result[f"rmse_{name}"] = figures[name]["rmse"]
        result[f"rmse_ratio_{name}"] = round(figures[name]["rmse"] / figures["mean_baseline"]["rmse"], 4)
    result["figures"] = figures
    return result


def evaluate(data=None, split: str = "all", models: dict | None = None, collection=None) -> dict:
    """Each genre's shipped model (and the paper model, where shipped) on its own genre's pieces.

    ``data``: any folder with ``classical/`` and ``jazz/`` subfolders (default TPD as found).
    ``split``: ``all`` every file (for foreign data), or ``test``/``validation``/``train`` the
    piece-level split of seed 0 (use ``test`` on TPD: the other pieces trained the models).
    ``models``: genre -> {name: (model, meta)}; default the shipped improved and paper models.
    """
    from .data import load_dataset, load_folder

    if collection is None:
        collection = load_folder(data, progress=False) if data is not None and not _is_tpd(data) else load_dataset("tpd", data, progress=False)
    if split == "all":
        pieces = collection.pieces
    elif split in ("train", "validation", "test"):
        pieces = collection.split(seed=SPLIT_SEED)[split]
    else:
        raise MusicstyleError(split, "split must be all, train, validation or test")
    result = {"split": split, "data": str(collection.root)}
    for genre in GENRES:
        these = [p for p in pieces if p.genre == genre]
        chosen = (models or {}).get(genre) or _shipped(genre)
        result[genre] = evaluate_pieces(these, genre, chosen)
    return result


def _shipped(genre: str) -> dict:
    out = {"improved": load(genre, "improved")}
    try:
        out["paper"] = load(genre, "paper")
    except MusicstyleError:
        pass
    return out


def add_test_metrics(model, meta: dict, data=None, collection=None) -> dict:
    """Store the model's figures on its genre's held-out test pieces in ``meta['test']``."""
    from .data import load_dataset, load_folder

    if collection is None:
        collection = load_folder(data, progress=False) if data is not None and not _is_tpd(data) else load_dataset("tpd", data, progress=False)
    test = [p for p in collection.split(seed=SPLIT_SEED)["test"] if p.genre == meta["genre"]]
    result = evaluate_pieces(test, meta["genre"], {meta["arch"]: (model, meta)})
    result.pop("figures", None)
    meta["test"] = result
    return result


# --- benchmark ------------------------------------------------------------------------------------


def bench(data=None, windows: int = 128, batch: int = 8) -> dict:
    """Training seconds per epoch (``windows`` random windows timed, scaled to a default :func:`train`
    epoch on TPD classical: as many windows as fit its train pieces, 1,024 notes each for the
    improved model, 1,024 steps for the paper's) and inference seconds for a 5-minute piece, paper
    vs improved, measured in one run.

    Training is timed on one fresh network; inference on the *shipped* model of each architecture
    (the improved one averages several networks). The 5-minute piece is the TPD
    classical test piece with the most notes per second, its roll (paper) or note rows (improved) cut
    or repeated to exactly 5 minutes; inference is one whole-piece pass after a warm-up call.
    ``transfer_file_s``: the whole :func:`transfer_bytes` of that real file (read, features,
    predict, texture, rewrite), after the warm-up.
    """
    import keras

    from .data import load_dataset

    collection = load_dataset("tpd", data, progress=False)
    parts = collection.split(seed=SPLIT_SEED)
    train_pieces = [p for p in parts["train"] if p.genre == "classical"]
    prepared = Prepared(train_pieces)
    rng = np.random.default_rng(0)
    data_by_arch = {"improved": prepared.note_windows(WINDOW, rng, windows), "paper": prepared.windows(WINDOW, rng, windows)}
    test = [p for p in parts["test"] if p.genre == "classical"] or train_pieces
    piece = max(test, key=lambda p: len(p.performance.notes) / max(p.performance.duration_s, 1.0))
    perf = piece.performance

    def five_minutes(rows: np.ndarray) -> np.ndarray:
        n = int(round(len(rows) * 300 / perf.duration_s))
        return np.concatenate([rows] * -(-n // len(rows)))[:n]

    roll_x = five_minutes(features(piano_roll(perf, PAPER)))
    nf = note_features(perf)
    notes_x, piece_x = five_minutes(nf), piece_input(perf, nf)
    per_epoch = {"improved": prepared.note_count // WINDOW, "paper": prepared.steps // WINDOW}
    out = {"device": _device(), "window": WINDOW, "batch": batch, "windows_timed": int(windows), "windows_per_epoch": per_epoch,
           "five_minute_steps": len(roll_x), "five_minute_notes": len(notes_x), "five_minute_source": piece.name,
           "transfer_file_duration_s": round(perf.duration_s, 1), "transfer_file_notes": len(perf.notes)}
    data = Path(perf.source).read_bytes()
    for arch in ARCHS:
        keras.utils.set_random_seed(0)
        model = build_model(arch, PAPER, 60.0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=masked_mse)
        x, y = data_by_arch[arch]
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, steps_per_epoch=1)  # build and trace
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        per_window = (time.perf_counter() - t0) / windows

        shipped, shipped_meta = load("classical", arch)

        def infer():
            return _run_notes(shipped, notes_x, piece_x) if arch == "improved" else _run_grid(shipped, roll_x)

        infer()  # warm-up (the first call builds what it needs)
        t0 = time.perf_counter()
        infer()
        inference = time.perf_counter() - t0
        t0 = time.perf_counter()
        transfer_bytes(shipped, data, piece.name, shipped_meta)
        whole = time.perf_counter() - t0
        out[arch] = {"params_per_network": int(model.count_params()), "shipped_networks": int(shipped_meta.get("members") or 1),
                     "train_s_per_epoch": round(per_window * per_epoch[arch], 1), "train_ms_per_window": round(per_window * 1000, 1),
                     "inference_s_5min": round(inference, 3), "transfer_file_s": round(whole, 3)}
    out["inference_ok"] = bool(max(max(out[a]["inference_s_5min"], out[a]["transfer_file_s"]) for a in ARCHS) <= 2.0)
    return out


def _device() -> str:
    from .training.device import describe_device

    return describe_device()
