"""Velocity style transfer: dilated 1-D CNNs that predict how hard each note is struck.

Taught in ``notebooks/02_velocity_cnn.ipynb`` (the CS230 paper's velocity "WaveNet").

Input of every model: the piano roll of a piece in the paper's 59-column layout (keys 32-88, CC64,
CC67; 8 steps per beat), onset and held matrices side by side, ``(batch, steps, 118)``. Output: a
velocity (0-127 units) for each of the 57 key columns at every step, multiplied by the key-onset
mask, so only the strikes carry a value. The loss is the paper's masked L2: squared error over the
cells where a key is struck (target velocity > 0), averaged per window. Pedal columns are input only.

Two architectures, one model per genre:

* ``paper``: the reference stack, Conv1D(59, k64, d1) -> BN -> Conv1D(59, k32, d2) -> BN ->
  Conv1D(59, k16, d4) -> BN -> ReLU, causal padding, fed the held ("chords") matrix, times the onset
  mask. Taken literally (``fixed=False``) its last batch norm starts at 0 and its ReLU leaves about
  half of the outputs at exactly 0 while the targets average ~60: Adam (lr 1e-3) needs tens of
  thousands of steps to move the bias that far, so it trains worse than predicting the mean. The
  fixed setting (the default) starts the last batch norm's offset at the training mean velocity.
* ``improved``: gated residual blocks of two-sided dilated convolutions (kernel 3, dilations 1 to
  256, receptive field ~1,000 steps), onset + held + pedal input, a global context vector (the
  average of the hidden features over every sounding step of the whole input, added back at each
  step) so the model can infer a piece's overall loudness, and a per-key output head. At inference
  the whole piece is one window, so the context is the whole piece.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path

import numpy as np

from .datasets import pieces_checksum
from .errors import MusicstyleError
from .midi import Performance, read_midi, rewrite_velocities
from .roll import PAPER, Layout, Roll, piano_roll, step_of

GENRES = ("classical", "jazz")
ARCHS = ("improved", "paper")
KIND = "velocity"
#: Training window in steps (8 steps per beat: 1,024 steps is about a minute at 120 qpm).
WINDOW = 1024
SPLIT_SEED = 0
#: Output scale of the improved model (velocity units per output unit).
SCALE = 16.0
#: Largest loudness offset (velocity units) of the improved model's piece-level estimate.
LOUDNESS_RANGE = 30.0

_META: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# --- matrices -------------------------------------------------------------------------------------


def features(roll: Roll) -> np.ndarray:
    """Model input of a roll: onset and held side by side, ``(steps, 2 * columns)`` uint8."""
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


def pooled(x: np.ndarray) -> np.ndarray:
    """Mean of a piece's input rows over the steps where anything sounds (what ContextPool computes)."""
    active = x.max(axis=1) > 0
    return x[active].mean(axis=0).astype(np.float32) if active.any() else np.zeros(x.shape[1], np.float32)


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
    class ContextPool(keras.layers.Layer):
        """Average of ``h`` over the steps where anything sounds in ``inputs``, shape (batch, 1, channels)."""

        def call(self, h, inputs):
            active = ops.cast(ops.max(inputs, axis=-1, keepdims=True) > 0, h.dtype)
            total = ops.sum(h * active, axis=1, keepdims=True)
            return total / ops.maximum(ops.sum(active, axis=1, keepdims=True), 1.0)

    @keras.saving.register_keras_serializable(package="musicstyle")
    class PerKeyHead(keras.layers.Layer):
        """One small MLP shared by every key: the step's features plus the key's own situation.

        For key k at step t it sees the hidden features h_t and: struck, held, how many keys are
        struck above and below it, whether it is the highest or lowest struck key, how many keys are
        held above and below, its position on the keyboard. Output: velocity offset (SCALE units)
        plus a per-key bias (started at the per-key training means).
        """

        def __init__(self, keys: int, hidden: int = 32, bias: list | None = None, **kwargs):
            super().__init__(**kwargs)
            self.keys, self.hidden = keys, hidden
            self.bias_init = [float(b) for b in bias] if bias is not None else [0.0] * keys
            self.dense = keras.layers.Dense(hidden, activation="relu")
            self.out = keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))

        def build(self, h_shape, inputs_shape=None):
            self.dense.build(tuple(h_shape[:-1]) + (self.keys, h_shape[-1] + 9))
            self.out.build(tuple(h_shape[:-1]) + (self.keys, self.hidden))
            self.key_bias = self.add_weight(shape=(self.keys,), initializer=keras.initializers.Constant(self.bias_init), name="key_bias")

        def call(self, h, inputs):
            k = self.keys
            c = inputs.shape[-1] // 2
            on = ops.cast(inputs[..., :k] > 0, h.dtype)
            held = ops.cast(inputs[..., c : c + k] > 0, h.dtype)
            on_below = ops.cumsum(on, axis=-1) - on
            on_above = ops.sum(on, axis=-1, keepdims=True) - on_below - on
            held_below = ops.cumsum(held, axis=-1) - held
            held_above = ops.sum(held, axis=-1, keepdims=True) - held_below - held
            top = on * ops.cast(on_above == 0, h.dtype)
            bottom = on * ops.cast(on_below == 0, h.dtype)
            position = ops.broadcast_to(ops.cast(ops.arange(k), h.dtype) / (k - 1), ops.shape(on))
            per_key = ops.stack([on, held, on_above / 4, on_below / 4, top, bottom, held_above / 4, held_below / 4, position], axis=-1)
            hh = ops.broadcast_to(ops.expand_dims(h, 2), (ops.shape(h)[0], ops.shape(h)[1], k, h.shape[-1]))
            z = self.out(self.dense(ops.concatenate([hh, per_key], axis=-1)))
            return ops.squeeze(z, -1) + self.key_bias

        def get_config(self):
            return {**super().get_config(), "keys": self.keys, "hidden": self.hidden, "bias": self.bias_init}

    _LAYERS = {"Columns": Columns, "OnsetMask": OnsetMask, "GatedBlock": GatedBlock, "ContextPool": ContextPool, "PerKeyHead": PerKeyHead}
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
    layout: Layout = PAPER,
    mean_velocity: float = 0.0,
    pitch_means=None,
    channels: int = 48,
    dilations=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    loudness: dict | None = None,
    head: str = "dense",
    name: str = "velocity_improved",
):
    """Gated residual two-sided dilated CNN with a whole-input context (loudness) vector, per-key head.

    The output bias starts at the per-key training means (``pitch_means``, else ``mean_velocity``).
    ``head``: ``dense`` (a 1x1 convolution to the 57 keys) or ``per_key`` (:class:`PerKeyHead`, one
    small MLP shared by all keys that also sees where the key sits in the chord; slower).
    Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    import keras

    L = _layers()
    c, k = layout.columns, layout.keys
    bias = np.full(k, mean_velocity, np.float32) if pitch_means is None else np.asarray(pitch_means, np.float32)
    inputs = keras.Input((None, 2 * c), name="roll")
    x = L["Columns"](0, 2 * c, name="float_roll")(inputs)
    h = keras.layers.Conv1D(channels, 1, name="embed")(x)
    for d in dilations:
        h = L["GatedBlock"](channels, d, name=f"block_d{d}")(h)
    # a piece-level loudness estimate: a linear function (fitted in closed form by fit_loudness,
    # then frozen) of the piece's statistics over the whole input and of how the file was made,
    # bounded to +-LOUDNESS_RANGE by tanh; the convolutions learn the rest
    n_feat = 2 * c + len(PIECE_FEATURES)
    piece = keras.Input((len(PIECE_FEATURES),), name="piece")
    loud = loudness or {"mu": np.zeros(n_feat), "var": np.ones(n_feat), "w": np.zeros(n_feat)}
    z = keras.layers.Concatenate(name="statistics")([L["ContextPool"](name="context")(x, x), keras.layers.Reshape((1, -1), name="piece_row")(piece)])
    z = keras.layers.Normalization(mean=np.asarray(loud["mu"], np.float32), variance=np.asarray(loud["var"], np.float32), name="standardise")(z)
    r = keras.layers.Dense(1, name="loudness", trainable=False, use_bias=False,
                           kernel_initializer=keras.initializers.Constant(np.asarray(loud["w"], np.float32).reshape(-1, 1) / LOUDNESS_RANGE))(z)
    r = keras.layers.Activation("tanh", name="bounded")(r)
    h = keras.layers.Add(name="with_loudness_hint")([h, keras.layers.Dense(channels, name="hint")(r)])
    # outputs in units of SCALE velocity steps, so Adam's step size suits velocities of 1-127
    if head == "per_key":
        out = L["PerKeyHead"](k, 32, (bias / SCALE).tolist(), name="per_key_head")(h, x)
    else:
        h = keras.layers.Concatenate(name="with_input")([h, x])
        h = keras.layers.Conv1D(128, 1, activation="relu", name="head")(h)
        out = keras.layers.Conv1D(k, 1, name="velocity", kernel_initializer=keras.initializers.RandomNormal(stddev=0.01 / SCALE),
                                  bias_initializer=keras.initializers.Constant(bias / SCALE))(h)
    out = keras.layers.Add(name="with_loudness")([out, keras.layers.Rescaling(LOUDNESS_RANGE / SCALE, name="loudness_scale")(r)])
    out = keras.layers.Rescaling(SCALE, name="to_velocity")(out)
    out = L["OnsetMask"](k, name="onset_mask", dtype="float32")(out, inputs)
    return keras.Model([inputs, piece], out, name=name)


def build_model(arch: str, layout: Layout = PAPER, mean_velocity: float = 0.0, pitch_means=None, fixed: bool = True,
                loudness: dict | None = None, head: str = "dense", channels: int = 48):
    """``paper`` or ``improved`` model (see the module docstring)."""
    if arch == "paper":
        return paper_model(layout, mean_velocity, fixed=fixed)
    if arch == "improved":
        return improved_model(layout, mean_velocity, pitch_means, channels=channels, loudness=loudness, head=head)
    raise MusicstyleError(arch, f"unknown architecture (choose from {', '.join(ARCHS)})")


def receptive_field(arch: str) -> int:
    """Steps of input one output step sees (paper: causal, past only; improved: both sides, plus the context)."""
    if arch == "paper":
        return 1 + 63 * 1 + 31 * 2 + 15 * 4
    return 1 + 2 * sum((1, 2, 4, 8, 16, 32, 64, 128, 256))


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
    """Input and target matrices of a list of pieces (one entry per piece)."""

    def __init__(self, pieces, layout: Layout = PAPER):
        self.names, self.x, self.y, self.f = [], [], [], []
        for p in pieces:
            perf = p.performance if hasattr(p, "performance") else p
            try:
                roll = piano_roll(perf, layout)
            except MusicstyleError:
                continue  # no notes in range / too long: nothing to learn from
            self.names.append(getattr(perf, "name", ""))
            self.x.append(features(roll))
            self.y.append(targets(roll))
            self.f.append(piece_features(perf))
        self.layout = layout

    @property
    def steps(self) -> int:
        return sum(len(x) for x in self.x)

    def onset_velocities(self) -> np.ndarray:
        """(velocity, key column) of every key onset."""
        parts = [np.stack([y[y > 0], np.nonzero(y)[1]], 1) for y in self.y]
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)

    def windows(self, length: int, rng: np.random.Generator | None = None, count: int | None = None, with_pieces: bool = False):
        """Windows of ``length`` steps inside pieces (never across two), zero-padded.

        With ``rng``: as many windows as fit in the total length, at random pieces (by length)
        and offsets (``count`` of them if given); without: consecutive windows of every piece.
        ``with_pieces``: return ``((x, piece_features), y)`` for the two-input improved model.
        """
        if rng is None:
            spots = [(i, s) for i, x in enumerate(self.x) for s in range(0, max(len(x) - length // 4, 1), length)]
        else:
            lengths = np.array([len(x) for x in self.x], float)
            n = count or max(1, int(lengths.sum() // length))
            which = rng.choice(len(self.x), n, p=lengths / lengths.sum())
            spots = [(i, int(rng.integers(0, max(len(self.x[i]) - length, 0) + 1))) for i in which]
        xs = np.zeros((len(spots), length, self.x[0].shape[1]), np.uint8)
        ys = np.zeros((len(spots), length, self.y[0].shape[1]), np.uint8)
        for j, (i, s) in enumerate(spots):
            seg = self.x[i][s : s + length]
            xs[j, : len(seg)] = seg
            ys[j, : len(seg)] = self.y[i][s : s + length]
        if with_pieces:
            return (xs, np.stack([self.f[i] for i, _ in spots])), ys
        return xs, ys


def baselines(train: Prepared) -> dict:
    """Training mean velocity and per-key means over key onsets (keys never struck get the mean)."""
    v = train.onset_velocities()
    mean = float(v[:, 0].mean()) if len(v) else 64.0
    k = train.layout.keys
    sums = np.bincount(v[:, 1], weights=v[:, 0], minlength=k)
    counts = np.bincount(v[:, 1], minlength=k)
    per = np.where(counts > 0, sums / np.maximum(counts, 1), mean)
    return {"train_mean": round(mean, 4), "pitch_means": [round(float(a), 4) for a in per], "train_onsets": int(len(v))}


def fit_loudness(train: Prepared, validation: Prepared, lambdas=(1.0, 10.0, 100.0, 1000.0)) -> dict:
    """Ridge regression of each piece's mean velocity on its statistics, in closed form.

    Features: the pooled input (how often each key is struck and held, pedal use) and
    :func:`piece_features`; standardised on the train pieces; the penalty chosen on the
    validation pieces (per-onset RMSE). Returns the standardisation, weights and figures.
    """
    def table(p: Prepared):
        z = np.array([np.concatenate([pooled(x), f]) for x, f in zip(p.x, p.f)], np.float64)
        m = np.array([y[y > 0].mean() if (y > 0).any() else 0.0 for y in p.y])
        n = np.array([(y > 0).sum() for y in p.y], np.float64)
        return z, m, n

    zt, mt, nt = table(train)
    zv, mv, nv = table(validation)
    mean = float((mt * nt).sum() / nt.sum())
    mu, var = zt.mean(0), zt.var(0) + 1e-4
    a, av = (zt - mu) / np.sqrt(var), (zv - mu) / np.sqrt(var)
    best = None
    for lam in lambdas:
        w = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ (mt - mean))
        pred = mean + LOUDNESS_RANGE * np.tanh((av @ w) / LOUDNESS_RANGE)
        rmse = float(np.sqrt((nv * (pred - mv) ** 2).sum() / nv.sum()))
        if best is None or rmse < best["val_piece_rmse"]:
            best = {"lambda": lam, "w": w, "val_piece_rmse": rmse}
    base = float(np.sqrt((nv * (mean - mv) ** 2).sum() / nv.sum()))
    return {"mu": mu, "var": var, "w": best["w"], "mean": mean, "lambda": best["lambda"],
            "val_piece_rmse": round(best["val_piece_rmse"], 3), "val_piece_rmse_mean": round(base, 3)}


# --- training -------------------------------------------------------------------------------------


def train(
    genre: str,
    arch: str = "improved",
    data=None,
    epochs: int = 20,
    window: int = WINDOW,
    batch: int = 16,
    patience: int = 3,
    strategy=None,
    fixed: bool = True,
    collection=None,
    seed: int = 0,
    verbose: int = 2,
    learning_rate: float = 1e-3,
    windows_per_epoch: int | None = None,
    head: str = "dense",
    init=None,
    channels: int = 48,
):
    """Train one genre's model on the piece-level train split with early stopping on validation.

    ``data``: a folder (default: TPD found as usual) or ``collection`` an already loaded one.
    ``strategy``: a ``tf.distribute`` strategy (default: :func:`musicstyle.device.strategy`).
    Mixed precision is turned on only when a GPU is present. ``init``: a model file of the same
    genre and architecture to continue training from. Returns ``(model, metadata, history)``.
    Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    import keras

    from . import __version__, device
    from .datasets import load_dataset, load_folder

    if genre not in GENRES:
        raise MusicstyleError(genre, f"unknown genre (choose from {', '.join(GENRES)})")
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
    two = arch == "improved"
    loud = fit_loudness(train_data, val_data) if two and init is None else None
    with strategy.scope():
        if init is not None:
            model, init_meta = load_file(init)
            if (init_meta.get("genre"), init_meta.get("arch")) != (genre, arch):
                raise MusicstyleError(init, f"holds a {init_meta.get('genre')} {init_meta.get('arch')} model, not {genre} {arch}")
        else:
            model = build_model(arch, PAPER, base["train_mean"], base["pitch_means"], fixed=fixed, loudness=loud, head=head, channels=channels)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=masked_mse)
    rng = np.random.default_rng(seed)
    width = model.inputs[1].shape[-1] if two else 0  # a model of an earlier version reads fewer features
    vx, vy = val_data.windows(window, with_pieces=two)
    if two:
        vx = (vx[0], vx[1][:, :width])
    history = {"loss": [], "val_loss": [], "epoch_s": []}
    # early stopping by hand: fresh random windows are drawn every epoch
    best, stale, best_weights = np.inf, 0, model.get_weights()
    for epoch in range(epochs):
        x, y = train_data.windows(window, rng, windows_per_epoch, with_pieces=two)
        if two:
            x = (x[0], x[1][:, :width])
        t0 = time.perf_counter()
        h = model.fit(x, y, batch_size=batch, epochs=1, validation_data=(vx, vy), verbose=1 if verbose > 1 else 0, shuffle=True)
        dt = time.perf_counter() - t0
        loss, val = float(h.history["loss"][-1]), float(h.history["val_loss"][-1])
        history["loss"].append(loss)
        history["val_loss"].append(val)
        history["epoch_s"].append(dt)
        if verbose:
            print(f"{genre} {arch} epoch {epoch + 1}/{epochs}: loss {loss:.1f} (RMSE {loss ** 0.5:.2f}), "
                  f"val {val:.1f} (RMSE {val ** 0.5:.2f}), {dt:.0f} s", flush=True)
        if val < best - 1e-6:
            best, stale, best_weights = val, 0, model.get_weights()
        else:
            stale += 1
            if stale >= patience:
                break
    model.set_weights(best_weights)
    meta = {
        "kind": KIND,
        "genre": genre,
        "arch": arch,
        "fixed_init": bool(fixed) if arch == "paper" else None,
        "head": head if arch == "improved" else None,
        "channels": (channels if init is None else init_meta.get("channels", 48)) if arch == "improved" else None,
        "learning_rate": learning_rate,
        "continued_from": None if init is None else {"file": Path(init).name, "epochs_run": init_meta.get("epochs_run"),
                                                     "learning_rate": init_meta.get("learning_rate", 1e-3)},
        "layout": PAPER.to_dict(),
        "input": "onset+held (steps, 2*columns)",
        "window": window,
        "batch": batch,
        "split_seed": SPLIT_SEED,
        "train_pieces": len(train_data.x),
        "validation_pieces": len(val_data.x),
        "data_checksum": pieces_checksum(tr + va),
        "data_root": str(collection.root),
        "epochs_run": len(history["loss"]),
        "windows_per_epoch": windows_per_epoch,
        "best_val_rmse": round(float(best) ** 0.5, 4),
        "history": {k: [round(float(v), 4) for v in vals] for k, vals in history.items()},
        "mixed_precision": mixed,
        "replicas": int(getattr(strategy, "num_replicas_in_sync", 1)),
        "version": __version__,
        "loudness": (init_meta.get("loudness") if init is not None else
                     {k: loud[k] for k in ("lambda", "val_piece_rmse", "val_piece_rmse_mean")} if loud else None),
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

    from .modelio import save_model

    if getattr(model, "optimizer", None) is not None:
        bare = keras.Model.from_config(model.get_config())
        bare.set_weights(model.get_weights())
        model = bare
    return save_model(model, path, meta)


def load_file(path) -> tuple:
    """Load a velocity model file in safe mode; clear :class:`MusicstyleError` for a wrong/corrupt file."""
    from .modelio import load_model

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
    from .modelio import pretrained_path

    key = (genre, arch)
    if key not in _LOADED:
        _LOADED[key] = load_file(pretrained_path(pretrained_name(genre, arch)))
    return _LOADED[key]


# --- prediction and transfer ----------------------------------------------------------------------


def _layout_of(model, meta) -> Layout:
    meta = meta or _META.get(model)
    return Layout.from_dict(meta["layout"]) if meta else PAPER


def _run(model, x: np.ndarray, piece: np.ndarray | None) -> np.ndarray:
    """One whole-piece pass: ``x`` (steps, 2*columns), ``piece`` its :func:`piece_features`."""
    from keras import ops

    steps = x.shape[0]
    xx = x[None].astype(np.float32)
    pad = -steps % 256  # few distinct shapes; zeros after the end change nothing before it
    if pad:
        xx = np.concatenate([xx, np.zeros((1, pad, xx.shape[2]), np.float32)], axis=1)
    if len(model.inputs) == 2:
        width = model.inputs[1].shape[-1]  # models of an earlier version read fewer features
        f = np.zeros((1, width), np.float32) if piece is None else np.asarray(piece, np.float32)[None, :width]
        out = model([xx, f], training=False)
    else:
        out = model(xx, training=False)
    return ops.convert_to_numpy(out).astype(np.float32)[0, :steps]


def predict_roll(model, roll: Roll, piece: np.ndarray | None = None) -> np.ndarray:
    """Predicted velocity ``(steps, keys)`` of a whole piece in one pass (0 where no key is struck).

    ``piece``: :func:`piece_features` of the performance (needed by the improved model).
    """
    return _run(model, features(roll), piece)


def predict_notes(model, meta, perf: Performance) -> np.ndarray:
    """Predicted velocity (float) of every row of ``perf.notes``, same order.

    Notes outside the model's key range keep their own velocity. Several strikes of one key at
    one step share a prediction. Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    layout = _layout_of(model, meta)
    roll = piano_roll(perf, layout)
    pred = predict_roll(model, roll, piece_features(perf))
    notes = perf.notes
    out = notes["velocity"].astype(np.float32)
    inside = (notes["pitch"] >= layout.low) & (notes["pitch"] <= layout.high)
    steps = step_of(notes["start"][inside], perf.ticks_per_quarter, layout.steps_per_beat)
    out[inside] = pred[steps, notes["pitch"][inside].astype(np.int64) - layout.low]
    return out


def transfer_bytes(model, data: bytes, name: str, meta=None) -> bytes:
    """MIDI bytes with only the note-on velocity bytes replaced by the model's predictions (1-127).

    Every other byte (times, pedal, meta events) is kept. Bad input raises
    :class:`MusicstyleError` naming ``name``. Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    perf = read_midi(data, name=name)
    perf.source = perf.source or name
    layout = _layout_of(model, meta)
    roll = piano_roll(perf, layout)
    pred = predict_roll(model, roll, piece_features(perf))
    tpq, spb = perf.ticks_per_quarter, layout.steps_per_beat

    def new_velocity(ticks, pitches, old):
        ticks, pitches = np.asarray(ticks, np.int64), np.asarray(pitches, np.int64)
        out = np.asarray(old, np.float32).copy()
        inside = (pitches >= layout.low) & (pitches <= layout.high)
        steps = np.minimum(step_of(ticks[inside], tpq, spb), len(pred) - 1)
        out[inside] = pred[steps, pitches[inside] - layout.low]
        return np.clip(out, 1, 127)

    return rewrite_velocities(data, new_velocity, name)


def transfer_file(model, src, dest, meta=None) -> Path:
    """Read ``src``, write the transferred MIDI to ``dest``; returns ``dest``."""
    src, dest = Path(src), Path(dest)
    if not src.is_file():
        raise MusicstyleError(src, "no such file")
    out = transfer_bytes(model, src.read_bytes(), str(src), meta)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(out)
    return dest


# --- evaluation -----------------------------------------------------------------------------------


def onset_predictions(model, prepared: Prepared) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per piece: (true velocity, predicted velocity, key column) at every key onset."""
    out = []
    for x, y, f in zip(prepared.x, prepared.y, prepared.f):
        pred = _run(model, x, f)
        t, c = np.nonzero(y)
        out.append((y[t, c].astype(np.float64), pred[t, c].astype(np.float64), c))
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
    result = {"genre": genre, "pieces": len(prepared.x), "onsets": int(sum(int((y > 0).sum()) for y in prepared.y))}
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
    from .datasets import load_dataset, load_folder

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
    from .datasets import load_dataset, load_folder

    if collection is None:
        collection = load_folder(data, progress=False) if data is not None and not _is_tpd(data) else load_dataset("tpd", data, progress=False)
    test = [p for p in collection.split(seed=SPLIT_SEED)["test"] if p.genre == meta["genre"]]
    result = evaluate_pieces(test, meta["genre"], {meta["arch"]: (model, meta)})
    result.pop("figures", None)
    meta["test"] = result
    return result


# --- benchmark ------------------------------------------------------------------------------------


def bench(data=None, windows: int = 128, batch: int = 8) -> dict:
    """Training seconds per epoch (scaled from ``windows`` windows to a full TPD classical epoch) and
    inference seconds for a 5-minute piece, paper vs improved, measured in one run.

    The 5-minute piece is the real TPD classical test piece closest to 5 minutes, its roll cut or
    repeated to exactly 5 minutes; inference is one whole-piece pass after a warm-up call.
    ``transfer_file_s``: the whole :func:`transfer_bytes` of that real file (read, roll, predict,
    rewrite), after the warm-up.
    """
    import keras

    from .datasets import load_dataset

    collection = load_dataset("tpd", data, progress=False)
    parts = collection.split(seed=SPLIT_SEED)
    train_pieces = [p for p in parts["train"] if p.genre == "classical"]
    prepared = Prepared(train_pieces)
    full_windows = int(prepared.steps // WINDOW)
    data_by_arch = {arch: prepared.windows(WINDOW, np.random.default_rng(0), windows, with_pieces=arch == "improved") for arch in ARCHS}
    test = [p for p in parts["test"] if p.genre == "classical"] or train_pieces
    piece = min(test, key=lambda p: abs(p.performance.duration_s - 300))
    roll = piano_roll(piece.performance, PAPER)
    steps_per_s = roll.steps / piece.performance.duration_s
    n = int(round(300 * steps_per_s))
    reps = -(-n // roll.steps)
    five = Roll(*(np.concatenate([m] * reps)[:n] for m in (roll.onset, roll.held, roll.velocity)), PAPER)
    out = {"device": _device(), "window": WINDOW, "batch": batch, "windows_timed": int(windows),
           "windows_per_full_epoch": full_windows, "five_minute_steps": n, "five_minute_source": piece.name,
           "transfer_file_duration_s": round(piece.performance.duration_s, 1)}
    for arch in ARCHS:
        keras.utils.set_random_seed(0)
        model = build_model(arch, PAPER, 60.0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=masked_mse)
        x, y = data_by_arch[arch]
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, steps_per_epoch=1)  # build and trace
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        per_window = (time.perf_counter() - t0) / windows
        f = piece_features(piece.performance)
        predict_roll(model, five, f)  # warm-up (first call builds the graph for this shape)
        t0 = time.perf_counter()
        predict_roll(model, five, f)
        infer = time.perf_counter() - t0
        data = Path(piece.performance.source).read_bytes()
        t0 = time.perf_counter()
        transfer_bytes(model, data, piece.name, {"layout": PAPER.to_dict()})
        whole = time.perf_counter() - t0
        out[arch] = {"params": int(model.count_params()), "train_s_per_epoch": round(per_window * full_windows, 1),
                     "train_ms_per_window": round(per_window * 1000, 1), "inference_s_5min": round(infer, 3),
                     "transfer_file_s": round(whole, 3)}
    out["inference_ok"] = bool(max(max(out[a]["inference_s_5min"], out[a]["transfer_file_s"]) for a in ARCHS) <= 2.0)
    return out


def _device() -> str:
    from .device import describe_device

    return describe_device()
