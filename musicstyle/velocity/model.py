"""The velocity architectures, their loss, and one whole-piece pass (seed ensembles:
:func:`musicstyle.training.ensemble.average_model`).

Taught in ``notebooks/02_velocity_cnn.ipynb``. Keras is imported inside the functions, so importing
the package stays light; the custom layers are :mod:`musicstyle.training.layers` (registered names
that the shipped files name).
"""

from __future__ import annotations

import numpy as np

from ..errors import MusicstyleError
from ..core.notes import NOTE_FEATURES
from ..core.roll import PAPER, Layout
from ..training.graph import compiled
from .data import PIECE_INPUT

GENRES = ("classical", "jazz")
ARCHS = ("improved", "paper", "stylenet")
#: The architectures that read one row per note (and the piece input) rather than the grid.
NOTE_ARCHS = ("improved", "stylenet")
#: Bidirectional LSTM layers of the ``stylenet`` model (Malik & Ek 2017 use three).
STYLENET_LAYERS = 2
#: Dilations of the improved model's gated blocks (kernel 3 each).
DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Output scale of the improved model (velocity units per output unit).
SCALE = 16.0
#: Largest loudness offset (velocity units) of the improved model's piece-level estimate.
LOUDNESS_RANGE = 30.0


def check_genre_arch(genre: str, arch: str) -> None:
    """Check a genre and an architecture. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        genre: must be in :data:`GENRES`.
        arch: must be in :data:`ARCHS`.

    Returns:
        None; anything else raises :class:`MusicstyleError`.
    """
    if genre not in GENRES:
        raise MusicstyleError(genre, f"unknown genre (choose from {', '.join(GENRES)})")
    if arch not in ARCHS:
        raise MusicstyleError(arch, f"unknown architecture (choose from {', '.join(ARCHS)})")


def masked_mse(y_true, y_pred):
    """The paper's masked L2 per window: mean of (pred - true)^2 over cells with true > 0.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        y_true: velocities at key onsets (notes), 0 elsewhere (padding).
        y_pred: the model's output, same shape.

    Returns:
        One loss per window (batch first); a window without onsets costs 0.
    """
    from keras import ops

    y_true = ops.cast(y_true, y_pred.dtype)
    mask = ops.cast(y_true > 0, y_pred.dtype)
    sq = ops.square(y_pred - y_true) * mask
    axes = tuple(range(1, len(y_pred.shape)))
    return ops.sum(sq, axis=axes) / ops.maximum(ops.sum(mask, axis=axes), 1.0)


def paper_model(layout: Layout = PAPER, mean_velocity: float = 0.0, fixed: bool = True, name: str = "velocity_paper"):
    """The CS230 velocity CNN (causal Conv1D 59 filters, kernels 64/32/16, dilations 1/2/4, BN, ReLU).

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        layout: the roll layout (columns: keys then pedals).
        mean_velocity: start of the last batch norm's offset when ``fixed``.
        fixed: start that offset at ``mean_velocity`` so the ReLU is not stuck at 0; False: the literal stack.
        name: the Keras model's name.

    Returns:
        An uncompiled Keras model: roll input ``(steps, 2 * columns)`` to velocity ``(steps, keys)``.
    """
    import keras

    from ..training.layers import Columns, OnsetMask

    c = layout.columns
    inputs = keras.Input((None, 2 * c), name="roll")
    x = Columns(c, 2 * c, name="held")(inputs)  # the paper feeds the chords (held) matrix
    for i, (k, d) in enumerate(((64, 1), (32, 2), (16, 4))):
        x = keras.layers.Conv1D(c, k, dilation_rate=d, padding="causal", name=f"conv{i + 1}")(x)
        beta = keras.initializers.Constant(mean_velocity if (fixed and i == 2) else 0.0)
        x = keras.layers.BatchNormalization(beta_initializer=beta, name=f"bn{i + 1}")(x)
    x = keras.layers.ReLU(name="relu")(x)
    out = OnsetMask(layout.keys, name="onset_mask", dtype="float32")(x, inputs)
    return keras.Model(inputs, out, name=name)


def improved_model(mean_velocity: float = 64.0, note_mean=None, note_var=None, channels: int = 48, dilations=DILATIONS,
                   loudness: dict | None = None, name: str = "velocity_improved"):
    """Gated residual two-sided dilated CNN over a piece's notes with a frozen piece loudness estimate.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        mean_velocity: where the output starts.
        note_mean: mean of each note feature (the training notes'), standardised inside the model.
        note_var: variance of each note feature.
        channels: channels of the gated blocks.
        dilations: one gated block (kernel 3) per dilation.
        loudness: :func:`musicstyle.velocity.loudness.fit_loudness`'s result (None: no estimate).
        name: the Keras model's name.

    Returns:
        An uncompiled Keras model: ``notes`` (batch, notes, len(NOTE_FEATURES)) and ``piece``
        (batch, PIECE_INPUT) to a velocity per note (0 on padding rows).
    """
    from ..training.layers import GatedBlock

    def blocks(h):
        for d in dilations:
            h = GatedBlock(channels, d, name=f"block_d{d}")(h)
        return h

    return _note_model(blocks, mean_velocity, note_mean, note_var, channels, loudness, name)


def stylenet_model(mean_velocity: float = 64.0, note_mean=None, note_var=None, channels: int = 48,
                   layers: int = STYLENET_LAYERS, loudness: dict | None = None, name: str = "velocity_stylenet"):
    """A StyleNet-style model (Malik & Ek 2017): bidirectional LSTM layers, here over a piece's notes.

    StyleNet runs three BiLSTM layers over piano-roll steps (note on and sustain per key) and outputs
    a velocity per key per step. This one runs ``layers`` BiLSTMs over the same note rows and frozen
    piece loudness estimate as :func:`improved_model` (only the gated dilated blocks are replaced),
    so the two differ only in the sequence layers. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        mean_velocity: where the output starts.
        note_mean: mean of each note feature, standardised inside the model.
        note_var: variance of each note feature.
        channels: width of each BiLSTM layer (half per direction).
        layers: BiLSTM layers.
        loudness: :func:`musicstyle.velocity.loudness.fit_loudness`'s result (None: no estimate).
        name: the Keras model's name.

    Returns:
        An uncompiled Keras model with :func:`improved_model`'s inputs and output.
    """
    import keras

    def bilstm(h):
        for i in range(layers):
            h = keras.layers.Bidirectional(keras.layers.LSTM(channels // 2, return_sequences=True), name=f"bilstm{i + 1}")(h)
        return h

    return _note_model(bilstm, mean_velocity, note_mean, note_var, channels, loudness, name)


def _note_model(backbone, mean_velocity, note_mean, note_var, channels, loudness, name):
    """The note models' common frame: standardised note rows -> ``backbone`` -> head, plus the loudness estimate."""
    import keras

    from ..training.layers import NoteMask

    f = len(NOTE_FEATURES)
    note_mean = np.zeros(f) if note_mean is None else note_mean
    note_var = np.ones(f) if note_var is None else note_var
    notes = keras.Input((None, f), name="notes")
    piece = keras.Input((PIECE_INPUT,), name="piece")
    x = keras.layers.Normalization(mean=np.asarray(note_mean, np.float32), variance=np.asarray(note_var, np.float32) + 1e-4,
                                   name="standardise_notes")(notes)
    h = backbone(keras.layers.Conv1D(channels, 1, name="embed")(x))
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
    out = NoteMask(name="note_mask", dtype="float32")(out, notes)
    return keras.Model([notes, piece], out, name=name)


def build_model(arch: str, layout: Layout = PAPER, mean_velocity: float = 0.0, fixed: bool = True, note_mean=None,
                note_var=None, loudness: dict | None = None, channels: int = 48, name: str | None = None):
    """The ``paper``, ``improved`` or ``stylenet`` model (see :func:`paper_model`, :func:`improved_model`, :func:`stylenet_model`).

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        arch: ``paper``, ``improved`` or ``stylenet``.
        layout: the paper model's layout.
        mean_velocity: where the output starts.
        fixed: the paper model's fixed start (see :func:`paper_model`).
        note_mean: the note models' standardisation (mean).
        note_var: the note models' standardisation (variance).
        loudness: the note models' loudness estimate.
        channels: the note models' channels (BiLSTM width for ``stylenet``).
        name: the Keras model's name (default ``velocity_<arch>``).

    Returns:
        An uncompiled Keras model.
    """
    name = name or f"velocity_{arch}"
    if arch == "paper":
        return paper_model(layout, mean_velocity, fixed=fixed, name=name)
    if arch == "improved":
        return improved_model(mean_velocity, note_mean, note_var, channels=channels, loudness=loudness, name=name)
    if arch == "stylenet":
        return stylenet_model(mean_velocity, note_mean, note_var, channels=channels, loudness=loudness, name=name)
    raise MusicstyleError(arch, f"unknown architecture (choose from {', '.join(ARCHS)})")


def with_loudness(model, loudness: dict):
    """A copy of a note model (or a seed ensemble of them) with another frozen loudness estimate.

    Every other weight is kept: the network learned the notes, the estimate only sets each piece's
    level. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: an ``improved`` or ``stylenet`` Keras model.
        loudness: :func:`musicstyle.velocity.loudness.fit_loudness`'s result.

    Returns:
        The new Keras model (``model`` is unchanged).
    """
    import keras

    from ..training import layers  # noqa: F401  (the custom layers, for from_config)

    def replaced(node):
        if isinstance(node, dict):
            if node.get("class_name") == "Normalization" and node.get("config", {}).get("name") == "standardise_piece":
                node = {**node, "config": {**node["config"], "mean": np.asarray(loudness["mu"], np.float32).tolist(),
                                           "variance": np.asarray(loudness["var"], np.float32).tolist()}}
                found.append(node)
            return {k: replaced(v) for k, v in node.items()}
        return [replaced(v) for v in node] if isinstance(node, list) else node

    found = []
    copy = keras.Model.from_config(replaced(model.get_config()))
    if not found:
        raise MusicstyleError(model.name, "not a note velocity model: it has no piece loudness estimate")
    copy.set_weights(model.get_weights())
    set_loudness_weights(copy, loudness)
    return copy


def set_loudness_weights(model, loudness: dict) -> None:
    """Put the weights of ``loudness`` into a note model's estimate, in place, in every member.

    Only the weights: the piece standardisation (``mu``, ``var``) is the model's own, so this suits
    estimates fitted on the pieces it was standardised on (:func:`with_loudness` sets both).

    Args:
        model: a note model (or a seed ensemble of them).
        loudness: :func:`musicstyle.velocity.loudness.fit_loudness`'s result.
    """
    kernel = np.asarray(loudness["w"], np.float32).reshape(-1, 1) / LOUDNESS_RANGE
    stack = [model]
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []))
        if layer.name == "loudness":
            layer.set_weights([kernel])


def is_note_model(model) -> bool:
    """Whether a model reads note rows (``improved``, ``stylenet``) rather than the grid.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity Keras model.

    Returns:
        True for the note models (two inputs), False for the paper's grid model.
    """
    return len(model.inputs) == 2


def receptive_field(arch: str) -> int:
    """Inputs one output sees. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        arch: ``paper`` (steps of the past only), ``improved`` (notes on both sides) or
            ``stylenet`` (the whole piece: 0 stands for unbounded).

    Returns:
        The number of input steps or notes.
    """
    if arch == "stylenet":
        return 0
    if arch == "paper":
        return 1 + 63 * 1 + 31 * 2 + 15 * 4
    return 1 + 2 * sum(DILATIONS)


def to_numpy(tensor) -> np.ndarray:
    """A Keras tensor as numpy. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        tensor: a Keras (backend) tensor.

    Returns:
        The numpy array.
    """
    from keras import ops

    return np.asarray(ops.convert_to_numpy(tensor))


def predict_whole(model, rows: np.ndarray, piece: np.ndarray | None = None) -> np.ndarray:
    """A velocity model on one whole piece, in one pass.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: the paper model (``rows``: its grid input, steps by 2 * columns) or the improved one
            (``rows``: note feature rows).
        rows: the model's input of the piece.
        piece: the improved model's :func:`musicstyle.velocity.data.piece_input` of the piece.

    Returns:
        float32 velocities: ``(steps, keys)`` for the paper model, one per row for the improved one.
    """
    if is_note_model(model):
        x = [np.asarray(rows, np.float32)[None], np.asarray(piece, np.float32)[None]]
        return compiled(model)(*x).astype(np.float32)[0]
    steps = rows.shape[0]
    pad = -steps % 256  # zeros after the end: a causal model's earlier outputs do not change
    xx = np.pad(np.asarray(rows, np.float32), ((0, pad), (0, 0)))[None]
    return compiled(model)(xx).astype(np.float32)[0, :steps]
