"""Genre classifier (classical vs jazz), its 50-d style vector, and its verdict on a piece.

Taught in ``notebooks/03_genre_classifier.ipynb``.

Input: windows of ``length`` steps of the piano roll, two channels side by side: ``held`` (a key
sounds) and ``velocity / 127`` at onsets. The shipped model uses :data:`~musicstyle.roll.KEYS_ONLY`
columns: the soft pedal (CC67) is recorded in 61% of TPD classical files and 1% of jazz files, so a
model that sees the pedal columns partly learns the recording setup. Two architectures:

- ``paper``: the CS230 stack, Conv1D(4, k32, d4) -> AvgPool 4 -> BN -> ReLU -> Conv1D(16, k16, d2)
  -> AvgPool 2 -> BN -> ReLU -> Dense 50 (the style vector) -> Dense 1 sigmoid;
- ``improved``: the same two dilated stages with 32 and 64 filters, a third stage, global
  average + max pooling over time (every window position counts alike), dropout, Dense 50 ->
  Dense 1; trained with random transposition of the keys (+-5 semitones).

Output: probability of *jazz*; a piece's verdict is the mean over its windows.
"""

from __future__ import annotations

import numpy as np

from .errors import MusicstyleError
from .core.midi import Performance, read_midi
from .core.roll import KEYS_ONLY, PAPER, Layout, piano_roll

#: Label 0 and 1 of the classifier's output.
CLASSES = ("classical", "jazz")
KIND = "classifier"
SHIPPED = "classifier.keras"
SHIPPED_PAPER59 = "classifier_paper59.keras"
#: The paper's segment-level test accuracy (on a split that leaked pieces).
PAPER_ACCURACY = 0.93


# --- inputs --------------------------------------------------------------------------------------


def features(perf: Performance, layout: Layout = KEYS_ONLY) -> np.ndarray:
    """(steps, 2 * columns) float32: held, then velocity / 127 at onsets (taught in notebook 03)."""
    roll = piano_roll(perf, layout)
    return np.concatenate([roll.held, roll.velocity], axis=1).astype(np.float32) * np.concatenate(
        [np.ones(layout.columns, np.float32), np.full(layout.columns, 1 / 127, np.float32)]
    )


def windows(feat: np.ndarray, length: int, hop: int | None = None) -> np.ndarray:
    """Cut (steps, C) into (n, length, C) windows every ``hop`` steps, the last one aligned to the
    piece's end (overlapping its neighbour) rather than padded with silence the model never saw in
    training; a piece shorter than ``length`` gives one zero-padded window."""
    from .core.roll import segments

    hop = hop or length
    if len(feat) <= length:
        return segments(feat, length, hop, pad=True)
    starts = np.arange(0, len(feat) - length + 1, hop)
    if starts[-1] != len(feat) - length:
        starts = np.append(starts, len(feat) - length)
    return feat[starts[:, None] + np.arange(length)[None, :]]


def transpose(batch: np.ndarray, shift: np.ndarray, keys: int, columns: int) -> np.ndarray:
    """Shift the key columns of each window by ``shift[i]`` semitones (zeros enter; pedals stay)."""
    out = np.zeros_like(batch)
    for i, s in enumerate(shift):
        for c0 in range(0, batch.shape[2], columns):  # each channel block
            block, dst = batch[i, :, c0 : c0 + keys], out[i, :, c0 : c0 + keys]
            if s > 0:
                dst[:, s:] = block[:, :-s]
            elif s < 0:
                dst[:, :s] = block[:, -s:]
            else:
                dst[:] = block
            out[i, :, c0 + keys : c0 + columns] = batch[i, :, c0 + keys : c0 + columns]
    return out


# --- models --------------------------------------------------------------------------------------


def build(arch: str = "improved", length: int = 512, columns: int = KEYS_ONLY.columns, channels: int = 2):
    """The classifier as a Keras model; the layer named ``style`` is the 50-d style vector."""
    import keras
    from keras import layers

    inp = keras.Input((length, columns * channels), name="roll")
    if arch == "paper":
        x = layers.Conv1D(4, 32, dilation_rate=4, padding="same")(inp)
        x = layers.AveragePooling1D(4)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv1D(16, 16, dilation_rate=2, padding="same")(x)
        x = layers.AveragePooling1D(2)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Flatten()(x)
    elif arch == "improved":
        x = inp
        for filters, size, dilation, pool in ((32, 32, 4, 4), (64, 16, 2, 2), (64, 8, 2, 2)):
            x = layers.Conv1D(filters, size, dilation_rate=dilation, padding="same")(x)
            x = layers.AveragePooling1D(pool)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
        x = layers.Dropout(0.3)(x)
    else:
        raise ValueError(f"unknown architecture {arch!r} (paper or improved)")
    style = layers.Dense(50, activation="relu", name="style")(x)
    out = layers.Dense(1, activation="sigmoid", name="jazz")(style)
    return keras.Model(inp, out, name=f"classifier_{arch}")


def _batches(feats, labels, length, hop, batch_size, rng, layout, augment):
    """Shuffled training batches of windows (all windows of every piece, random offset per epoch)."""
    index = []
    for i, f in enumerate(feats):
        offset = int(rng.integers(0, hop)) if len(f) > length + hop else 0
        starts = np.arange(offset, max(len(f) - length, 0) + 1, hop) if len(f) > length else np.array([0])
        index += [(i, int(s)) for s in starts]
    order = rng.permutation(len(index))
    for b in range(0, len(order) - batch_size + 1, batch_size):
        x = np.zeros((batch_size, length, feats[0].shape[1]), np.float32)
        y = np.zeros((batch_size, 1), np.float32)
        for j, k in enumerate(order[b : b + batch_size]):
            i, s = index[k]
            w = feats[i][s : s + length]
            x[j, : len(w)] = w
            y[j, 0] = labels[i]
        if augment:
            x = transpose(x, rng.integers(-5, 6, batch_size), layout.keys, layout.columns)
        yield x, y


def train(
    pieces,
    validation=(),
    arch: str = "improved",
    layout: Layout = KEYS_ONLY,
    length: int = 512,
    epochs: int = 20,
    batch_size: int = 32,
    augment: bool | None = None,
    learning_rate: float = 1e-3,
    seed: int = 0,
    log=print,
):
    """Train a classifier on pieces (``.performance``, ``.genre``); returns ``(model, metadata)``.

    Keeps the weights of the epoch with the best validation piece accuracy (then segment
    accuracy) when ``validation`` pieces are given. Taught in notebook 03.
    """
    import keras

    keras.utils.set_random_seed(seed)
    augment = arch == "improved" if augment is None else augment
    rng = np.random.default_rng(seed)
    feats = [features(p.performance, layout) for p in pieces]
    labels = np.array([CLASSES.index(p.genre) for p in pieces], np.float32)
    model = build(arch, length, layout.columns)
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=["accuracy"])
    meta = _metadata(arch, layout, length)
    best, best_weights, history = None, None, []
    for epoch in range(epochs):
        losses = []
        for x, y in _batches(feats, labels, length, length, batch_size, rng, layout, augment):
            losses.append(float(model.train_on_batch(x, y)[0]))
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses))}
        if validation:
            row.update({f"val_{k}": v for k, v in evaluate(model, meta, validation).items() if k.endswith("accuracy")})
            score = (row["val_piece_accuracy"], row["val_segment_accuracy"])
            if best is None or score > best:
                best, best_weights = score, model.get_weights()
        history.append(row)
        log(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    if best_weights is not None:
        model.set_weights(best_weights)
    meta["history"] = history
    meta["train_pieces"] = len(pieces)
    return model, meta


def _metadata(arch: str, layout: Layout, length: int) -> dict:
    return {
        "kind": KIND,
        "arch": arch,
        "layout": layout.to_dict(),
        "length": length,
        "channels": ["held", "velocity/127"],
        "classes": list(CLASSES),
        "output": "probability of jazz",
    }


# --- using a model -------------------------------------------------------------------------------


def _as_performance(data) -> Performance:
    if isinstance(data, Performance):
        return data
    if isinstance(data, (bytes, bytearray)):
        return read_midi(bytes(data), name="<bytes>")
    return read_midi(data)


def window_probabilities(model, meta, perf: Performance) -> np.ndarray:
    """Probability of jazz for each window of a piece (taught in notebook 03)."""
    layout = Layout.from_dict(meta["layout"])
    x = windows(features(perf, layout), meta["length"])
    return _predict(model, x)[:, 0]


def _predict(model, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    out = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(out)


def evaluate(model, meta, pieces) -> dict:
    """Segment and piece accuracy (vote = mean probability), confusion matrix, majority baseline."""
    seg_correct = seg_total = 0
    truth, guess = [], []
    for p in pieces:
        probs = window_probabilities(model, meta, p.performance)
        label = CLASSES.index(p.genre)
        seg_correct += int(((probs > 0.5) == bool(label)).sum())
        seg_total += len(probs)
        truth.append(label)
        guess.append(int(probs.mean() > 0.5))
    truth, guess = np.array(truth), np.array(guess)
    confusion = [[int(((truth == i) & (guess == j)).sum()) for j in range(2)] for i in range(2)]
    counts = np.bincount(truth, minlength=2)
    return {
        "segments": int(seg_total),
        "segment_accuracy": seg_correct / max(seg_total, 1),
        "pieces": int(len(truth)),
        "piece_accuracy": float((truth == guess).mean()) if len(truth) else float("nan"),
        "majority_baseline": float(counts.max() / max(counts.sum(), 1)),
        "confusion": {"rows_true": list(CLASSES), "cols_predicted": list(CLASSES), "counts": confusion},
        "paper_accuracy_leaky_split": PAPER_ACCURACY,
    }


_CACHE: dict = {}


def load(name: str = SHIPPED):
    """The shipped classifier ``(model, metadata)`` (or a path to another .keras file); cached."""
    from pathlib import Path

    from .training.modelfile import load_model
    from .training.shipped import pretrained_path

    path = Path(name) if ("/" in str(name) or Path(name).suffix == ".keras" and Path(name).is_file()) else pretrained_path(name)
    key = str(path)
    if key not in _CACHE:
        _CACHE[key] = load_model(path, KIND)
    return _CACHE[key]


def verdict(data, model=None, meta=None) -> dict:
    """``{"classical": p, "jazz": 1 - p}`` for MIDI bytes, a path or a Performance (notebook 03)."""
    if model is None:
        model, meta = load()
    perf = _as_performance(data)
    q = float(window_probabilities(model, meta, perf).mean())
    return {"classical": 1.0 - q, "jazz": q}


def style_model(model):
    """A model from the classifier's input to its 50-d ``style`` layer."""
    import keras

    return keras.Model(model.inputs[0], model.get_layer("style").output)


def style_vector(perf, model=None, meta=None) -> np.ndarray:
    """(50,) float32: the ``style`` layer averaged over the windows of a piece (notebook 03)."""
    if model is None:
        model, meta = load()
    perf = _as_performance(perf)
    key = ("style", id(model))
    if key not in _CACHE:
        _CACHE[key] = style_model(model)
    layout = Layout.from_dict(meta["layout"])
    x = windows(features(perf, layout), meta["length"])
    return _predict(_CACHE[key], x).mean(axis=0).astype(np.float32)


def project_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCA in numpy: (n, 2) coordinates and the share of variance of each axis (notebook 03)."""
    v = np.asarray(vectors, np.float64)
    centred = v - v.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    explained = s**2 / max((s**2).sum(), 1e-12)
    coords = centred @ vt[:2].T
    coords *= np.where(np.abs(coords).max(0) > 0, np.sign(coords[np.abs(coords).argmax(0), [0, 1]]), 1)  # fixed sign
    return coords, explained[:2]


def layout_of(name: str) -> Layout:
    """``keys`` -> KEYS_ONLY, ``paper`` -> the 59 columns."""
    return {"keys": KEYS_ONLY, "paper": PAPER}[name]


def check_file(path) -> None:
    """Raise MusicstyleError unless ``path`` holds a classifier model."""
    from .training.modelfile import read_metadata

    if read_metadata(path).get("kind") != KIND:
        raise MusicstyleError(path, "not a classifier model")
