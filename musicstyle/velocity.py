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

import hashlib
import time
import weakref
from pathlib import Path

import numpy as np

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

_META: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# --- matrices -------------------------------------------------------------------------------------


def features(roll: Roll) -> np.ndarray:
    """Model input of a roll: onset and held side by side, ``(steps, 2 * columns)`` uint8."""
    return np.concatenate([roll.onset, roll.held], axis=1)


def targets(roll: Roll) -> np.ndarray:
    """Velocity at key onsets (0 elsewhere), ``(steps, keys)`` uint8; pedal columns dropped."""
    k = roll.layout.keys
    return np.where(roll.onset[:, :k] > 0, roll.velocity[:, :k], 0).astype(np.uint8)


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

    _LAYERS = {"Columns": Columns, "OnsetMask": OnsetMask, "GatedBlock": GatedBlock, "ContextPool": ContextPool}
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
    context: int = 16,
    dropout: float = 0.2,
    l2: float = 1e-3,
    name: str = "velocity_improved",
):
    """Gated residual two-sided dilated CNN with a whole-input context (loudness) vector, per-key head.

    The output bias starts at the per-key training means (``pitch_means``, else ``mean_velocity``).
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
    # the piece's statistics (how often each key is struck and held, pedal use) over the whole
    # input, standardised, bounded by tanh and regularised: a loudness estimate that cannot
    # memorise pieces the way pooled deep features do
    ctx = L["ContextPool"](name="context")(x, x)
    ctx = keras.layers.BatchNormalization(name="context_norm")(ctx)
    ctx = keras.layers.Dropout(dropout, name="context_dropout")(ctx)
    ctx = keras.layers.Dense(context, activation="tanh", kernel_regularizer=keras.regularizers.L2(l2), name="context_dense")(ctx)
    h = keras.layers.Add(name="with_context")([h, keras.layers.Dense(channels, name="context_to_steps")(ctx)])
    h = keras.layers.Concatenate(name="with_input")([h, x])
    h = keras.layers.Conv1D(128, 1, activation="relu", name="head")(h)
    # outputs in units of SCALE velocity steps, so Adam's step size suits velocities of 1-127
    out = keras.layers.Conv1D(k, 1, name="velocity", kernel_initializer=keras.initializers.RandomNormal(stddev=0.01 / SCALE),
                              bias_initializer=keras.initializers.Constant(bias / SCALE))(h)
    loudness = keras.layers.Dense(1, name="loudness", kernel_initializer="zeros")(ctx)
    out = keras.layers.Add(name="with_loudness")([out, loudness])
    out = keras.layers.Rescaling(SCALE, name="to_velocity")(out)
    out = L["OnsetMask"](k, name="onset_mask", dtype="float32")(out, inputs)
    return keras.Model(inputs, out, name=name)


def build_model(arch: str, layout: Layout = PAPER, mean_velocity: float = 0.0, pitch_means=None, fixed: bool = True):
    """``paper`` or ``improved`` model (see the module docstring)."""
    if arch == "paper":
        return paper_model(layout, mean_velocity, fixed=fixed)
    if arch == "improved":
        return improved_model(layout, mean_velocity, pitch_means)
    raise MusicstyleError(arch, f"unknown architecture (choose from {', '.join(ARCHS)})")


def receptive_field(arch: str) -> int:
    """Steps of input one output step sees (paper: causal, past only; improved: both sides, plus the context)."""
    if arch == "paper":
        return 1 + 63 * 1 + 31 * 2 + 15 * 4
    return 1 + 2 * sum((1, 2, 4, 8, 16, 32, 64, 128, 256))


# --- data -----------------------------------------------------------------------------------------


class Prepared:
    """Input and target matrices of a list of pieces (one entry per piece)."""

    def __init__(self, pieces, layout: Layout = PAPER):
        self.names, self.x, self.y = [], [], []
        for p in pieces:
            perf = p.performance if hasattr(p, "performance") else p
            try:
                roll = piano_roll(perf, layout)
            except MusicstyleError:
                continue  # no notes in range / too long: nothing to learn from
            self.names.append(getattr(perf, "name", ""))
            self.x.append(features(roll))
            self.y.append(targets(roll))
        self.layout = layout

    @property
    def steps(self) -> int:
        return sum(len(x) for x in self.x)

    def onset_velocities(self) -> np.ndarray:
        """(velocity, key column) of every key onset."""
        parts = [np.stack([y[y > 0], np.nonzero(y)[1]], 1) for y in self.y]
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)

    def windows(self, length: int, rng: np.random.Generator | None = None, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Windows of ``length`` steps inside pieces (never across two), zero-padded.

        With ``rng``: as many windows as fit in the total length, at random pieces (by length)
        and offsets (``count`` of them if given); without: consecutive windows of every piece.
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


def data_checksum(pieces) -> str:
    """SHA-256 over the sorted content digests of the pieces used."""
    digests = sorted(p.performance.sha256 for p in pieces)
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


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
):
    """Train one genre's model on the piece-level train split with early stopping on validation.

    ``data``: a folder (default: TPD found as usual) or ``collection`` an already loaded one.
    ``strategy``: a ``tf.distribute`` strategy (default: :func:`musicstyle.device.strategy`).
    Mixed precision is turned on only when a GPU is present. Returns ``(model, metadata, history)``.
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
    with strategy.scope():
        model = build_model(arch, PAPER, base["train_mean"], base["pitch_means"], fixed=fixed)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=masked_mse)
    rng = np.random.default_rng(seed)
    vx, vy = val_data.windows(window)
    history = {"loss": [], "val_loss": [], "epoch_s": []}
    # early stopping by hand: fresh random windows are drawn every epoch
    best, stale, best_weights = np.inf, 0, model.get_weights()
    for epoch in range(epochs):
        x, y = train_data.windows(window, rng, windows_per_epoch)
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
        "layout": PAPER.to_dict(),
        "input": "onset+held (steps, 2*columns)",
        "window": window,
        "batch": batch,
        "split_seed": SPLIT_SEED,
        "train_pieces": len(train_data.x),
        "validation_pieces": len(val_data.x),
        "data_checksum": data_checksum(tr + va),
        "data_root": str(collection.root),
        "epochs_run": len(history["loss"]),
        "windows_per_epoch": windows_per_epoch,
        "best_val_rmse": round(float(best) ** 0.5, 4),
        "history": {k: [round(float(v), 4) for v in vals] for k, vals in history.items()},
        "mixed_precision": mixed,
        "replicas": int(getattr(strategy, "num_replicas_in_sync", 1)),
        "version": __version__,
        **base,
    }
    return model, meta, history


def _is_tpd(path) -> bool:
    p = Path(path)
    return (p / "tpd").is_dir() or p.name == "tpd"


# --- saving and loading ---------------------------------------------------------------------------


def save(model, meta: dict, path) -> Path:
    """Save a velocity model with its metadata (see :mod:`musicstyle.modelio`)."""
    from .modelio import save_model

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


def predict_roll(model, roll: Roll) -> np.ndarray:
    """Predicted velocity ``(steps, keys)`` of a whole piece in one pass (0 where no key is struck)."""
    x = features(roll)[None].astype(np.float32)
    pad = -x.shape[1] % 256  # few distinct shapes; zeros after the end change nothing before it
    if pad:
        x = np.concatenate([x, np.zeros((1, pad, x.shape[2]), np.float32)], axis=1)
    from keras import ops

    return ops.convert_to_numpy(model(x, training=False)).astype(np.float32)[0, : roll.steps]


def predict_notes(model, meta, perf: Performance) -> np.ndarray:
    """Predicted velocity (float) of every row of ``perf.notes``, same order.

    Notes outside the model's key range keep their own velocity. Several strikes of one key at
    one step share a prediction. Taught in ``notebooks/02_velocity_cnn.ipynb``.
    """
    layout = _layout_of(model, meta)
    roll = piano_roll(perf, layout)
    pred = predict_roll(model, roll)
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
    pred = predict_roll(model, roll)
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
    from keras import ops

    out = []
    for x, y in zip(prepared.x, prepared.y):
        steps = x.shape[0]
        xx = x[None].astype(np.float32)
        pad = -steps % 256
        if pad:
            xx = np.concatenate([xx, np.zeros((1, pad, xx.shape[2]), np.float32)], axis=1)
        pred = ops.convert_to_numpy(model(xx, training=False)).astype(np.float32)[0, :steps]
        t, c = np.nonzero(y)
        out.append((y[t, c].astype(np.float64), pred[t, c].astype(np.float64), c))
    return out


def metrics(per_piece: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """RMSE, MAE, Pearson r and within-piece RMSE (each piece's mean error removed) over onsets."""
    true = np.concatenate([t for t, _ in per_piece]) if per_piece else np.zeros(0)
    pred = np.concatenate([p for _, p in per_piece]) if per_piece else np.zeros(0)
    err = pred - true
    within = np.concatenate([(p - t) - (p - t).mean() for t, p in per_piece if len(t)]) if per_piece else err
    r = float(np.corrcoef(true, pred)[0, 1]) if len(true) > 1 and pred.std() > 0 and true.std() > 0 else 0.0
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
    """
    import keras

    from .datasets import load_dataset

    collection = load_dataset("tpd", data, progress=False)
    parts = collection.split(seed=SPLIT_SEED)
    train_pieces = [p for p in parts["train"] if p.genre == "classical"]
    prepared = Prepared(train_pieces)
    full_windows = int(prepared.steps // WINDOW)
    x, y = prepared.windows(WINDOW, np.random.default_rng(0), windows)
    test = [p for p in parts["test"] if p.genre == "classical"] or train_pieces
    piece = min(test, key=lambda p: abs(p.performance.duration_s - 300))
    roll = piano_roll(piece.performance, PAPER)
    steps_per_s = roll.steps / piece.performance.duration_s
    n = int(round(300 * steps_per_s))
    reps = -(-n // roll.steps)
    five = Roll(*(np.concatenate([m] * reps)[:n] for m in (roll.onset, roll.held, roll.velocity)), PAPER)
    out = {"device": _device(), "window": WINDOW, "batch": batch, "windows_timed": int(len(x)),
           "windows_per_full_epoch": full_windows, "five_minute_steps": n, "five_minute_source": piece.name}
    for arch in ARCHS:
        keras.utils.set_random_seed(0)
        model = build_model(arch, PAPER, 60.0)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=masked_mse)
        model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)  # build and trace
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        per_window = (time.perf_counter() - t0) / len(x)
        predict_roll(model, five)  # warm-up (first call builds the graph for this shape)
        t0 = time.perf_counter()
        predict_roll(model, five)
        infer = time.perf_counter() - t0
        out[arch] = {"params": int(model.count_params()), "train_s_per_epoch": round(per_window * full_windows, 1),
                     "train_ms_per_window": round(per_window * 1000, 1), "inference_s_5min": round(infer, 3)}
    out["inference_ok"] = bool(max(out[a]["inference_s_5min"] for a in ARCHS) <= 2.0)
    return out


def _device() -> str:
    from .device import describe_device

    return describe_device()
