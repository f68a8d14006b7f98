"""The discriminators (a dilated CNN over standardised velocities, an MLP on segment statistics),
their ensemble, and the shipped judge's verdict.

Taught in ``notebooks/02b_did_the_style_move.ipynb``.
"""

from __future__ import annotations

import numpy as np

from ..errors import MusicstyleError
from .data import Dynamics, as_dynamics
from .observations import FEATURES, segment_table

#: Hidden ReLU units of the statistics model (0 would be plain logistic regression, which could not
#: fit real pieces and model predictions at once: 69% of the jazz model's own output judged jazz).
STATS_HIDDEN = 32
#: File names of the shipped discriminators, by kind.
SHIPPED = {"cnn": "dynamics_cnn.keras", "stats": "dynamics_stats.keras"}
#: The raw discriminator (trained on real pieces only), shipped to show why it fails its controls.
RAW = {"stats_raw": "dynamics_stats_raw.keras"}
#: The judge made of every shipped kind (mean log-odds), and the one :func:`verdict` trusts.
ENSEMBLE = "ensemble"
TRUSTED = ENSEMBLE
#: The metadata ``kind`` of every discriminator file.
KIND = "dynamics"


def build_cnn(filters: int = 16, kernel: int = 5, dilations=(1, 2, 4, 8)):
    """The sequence discriminator. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        filters: channels of the first two blocks (twice as many after).
        kernel: width of every Conv1D.
        dilations: one ReLU Conv1D block per dilation.

    Returns:
        An uncompiled Keras model: z (batch, onsets, 1) -> one logit, through global average pooling.
    """
    import keras
    from keras import layers

    x = inp = keras.Input((None, 1), name="z")
    for i, d in enumerate(dilations):
        x = layers.Conv1D(filters * (2 if i >= 2 else 1), kernel, dilation_rate=d, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(1, name="logit")(x)
    return keras.Model(inp, out, name="dynamics_cnn")


def build_stats(mean: np.ndarray, var: np.ndarray, l2: float = 1e-3, hidden: int = 0):
    """The statistics discriminator. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        mean, var: the training table's mean and variance of each of :data:`FEATURES`.
        l2: L2 penalty of every kernel.
        hidden: ReLU units of one hidden layer (0: logistic regression).

    Returns:
        An uncompiled Keras model: features (batch, len(FEATURES)) -> one logit.
    """
    import keras
    from keras import layers

    inp = keras.Input((len(FEATURES),), name="features")
    x = layers.Normalization(mean=mean, variance=np.maximum(var, 1e-6), name="normalise")(inp)
    if hidden:
        x = layers.Dense(hidden, activation="relu", kernel_regularizer=keras.regularizers.L2(l2), name="hidden")(x)
    out = layers.Dense(1, kernel_regularizer=keras.regularizers.L2(l2), name="logit")(x)
    return keras.Model(inp, out, name="dynamics_stats")


def jazz_logit(model, meta: dict, d: Dynamics) -> float:
    """Log-odds that a piece's dynamics are jazz. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        model: a discriminator (for the ensemble, its list of ``(model, meta)`` members).
        meta: its metadata (``arch``: ``cnn``, ``stats`` or ``ensemble``).
        d: the piece.

    Returns:
        The logit (the CNN over the whole piece; the mean over segments for ``stats``; the mean of
        the members for the ensemble).
    """
    if meta.get("arch") == ENSEMBLE:
        return float(np.mean([jazz_logit(m, mm, d) for m, mm in model]))
    if meta.get("arch") == "stats":
        f = segment_table(d)
        return float(np.mean(np.asarray(model(f, training=False)).ravel()))
    z = d.z.astype(np.float32)
    if z.size < 16:
        z = np.pad(z, (0, 16 - z.size))
    return float(np.asarray(model(z[None, :, None], training=False)).ravel()[0])


def p_jazz(model, meta: dict, data) -> float:
    """P(jazz) of a piece by one discriminator. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        model, meta: the discriminator (see :func:`jazz_logit`).
        data: MIDI bytes, a Performance or :class:`Dynamics`.

    Returns:
        The probability, 0-1.
    """
    return float(1.0 / (1.0 + np.exp(-jazz_logit(model, meta, as_dynamics(data)))))


def ensemble(members: dict) -> tuple[list, dict]:
    """The judge whose log-odds is the mean of its members'. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        members: kind -> ``(model, meta)``.

    Returns:
        ``(model, meta)`` of the ensemble (``model`` is the list of members).
    """
    return list(members.values()), {"kind": KIND, "arch": ENSEMBLE, "members": list(members)}


def load(kind: str = TRUSTED) -> tuple:
    """A shipped discriminator. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        kind: ``cnn``, ``stats``, ``stats_raw`` or ``ensemble`` (of the shipped kinds).

    Returns:
        ``(model, meta)``, loaded once in safe mode (:func:`musicstyle.training.shipped.load_shipped`).
    """
    from ..training.shipped import load_shipped

    if kind == ENSEMBLE:
        return ensemble({k: load(k) for k in SHIPPED})
    files = {**SHIPPED, **RAW}
    if kind not in files:
        raise MusicstyleError(kind, f"unknown discriminator kind (choose from {', '.join([*files, ENSEMBLE])})")
    return load_shipped(files[kind], KIND)


def load_model_file(path) -> tuple:
    """A discriminator saved by ``musicstyle train dynamics``. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        path: the ``.keras`` file.

    Returns:
        ``(model, meta)``, loaded in safe mode.
    """
    from ..training.modelfile import load_model

    return load_model(path, kind=KIND)


def verdict(data) -> dict:
    """What the trusted judge (:data:`TRUSTED`) hears in a piece's dynamics.

    Taught in ``notebooks/02b_did_the_style_move.ipynb`` (and the widget, notebook 07).

    Args:
        data: MIDI bytes or a Performance (bad MIDI raises :class:`MusicstyleError`).

    Returns:
        ``{"classical": 1 - p, "jazz": p}``.
    """
    d = as_dynamics(data)  # bad input fails here, before any model is loaded
    model, meta = load(TRUSTED)
    pj = p_jazz(model, meta, d)
    return {"classical": 1.0 - pj, "jazz": pj}
