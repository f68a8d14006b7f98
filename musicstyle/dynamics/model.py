"""The discriminators (a dilated CNN over standardised velocities, an MLP on segment statistics),
their ensemble, and the shipped judge's verdict.

Taught in ``notebooks/02b_did_the_style_move.ipynb``.
"""

from __future__ import annotations

import numpy as np

from ..core.midi import Performance, as_performance
from ..errors import MusicstyleError
from ..training.graph import compiled
from .data import OUTCOMES, UNRELATED, Dynamics, as_dynamics, dynamics_of, has_dynamics
from .observations import FEATURES, segment_table
from .relations import RELATIONS, relation_segments, segment_bounds

#: Hidden ReLU units of the statistics model (0 would be plain logistic regression, which could not
#: fit real pieces and model predictions at once: 69% of the jazz model's own output judged jazz).
STATS_HIDDEN = 32
#: File names of the shipped discriminators, by kind.
SHIPPED = {"cnn": "dynamics_cnn.keras", "stats": "dynamics_stats.keras"}
#: The raw discriminator (trained on real pieces only), shipped to show why it fails its controls.
RAW = {"stats_raw": "dynamics_stats_raw.keras"}
#: The judge that hears how velocities relate to the notes (three outcomes, :data:`OUTCOMES`).
RELATIONAL = {"relations": "dynamics_relations.keras"}
#: The judge made of the shipped binary kinds (mean log-odds), reported beside the trusted one.
ENSEMBLE = "ensemble"
#: The judge of :func:`verdict` and ``evaluate transfer``: texture alone and shuffled velocities do not fool it.
TRUSTED = "relations"
#: Hidden ReLU units of the relations judge.
RELATIONS_HIDDEN = 16
#: Seeds of the relations judge that ``musicstyle train dynamics`` averages (one network's verdicts vary
#: from seed to seed by a few pieces in a hundred).
RELATIONS_MEMBERS = 5
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


def build_relations(mean: np.ndarray, var: np.ndarray, l2: float = 1e-3, hidden: int = RELATIONS_HIDDEN,
                    name: str = "dynamics_relations"):
    """The relations judge. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        mean, var: the training table's mean and variance of each of :data:`RELATIONS`.
        l2: L2 penalty of every kernel.
        hidden: ReLU units of one hidden layer (0: multinomial logistic regression).
        name: the Keras model's name (distinct for each member of a seed ensemble).

    Returns:
        An uncompiled Keras model: relations (batch, len(RELATIONS)) -> one logit per outcome
        (classical, jazz, unrelated).
    """
    import keras
    from keras import layers

    inp = keras.Input((len(RELATIONS),), name="relations")
    x = layers.Normalization(mean=mean, variance=np.maximum(var, 1e-6), name="normalise")(inp)
    if hidden:
        x = layers.Dense(hidden, activation="relu", kernel_regularizer=keras.regularizers.L2(l2), name="hidden")(x)
    out = layers.Dense(len(OUTCOMES), kernel_regularizer=keras.regularizers.L2(l2), name="logits")(x)
    return keras.Model(inp, out, name=name)


def relations_of(d: Dynamics) -> np.ndarray:
    """A piece's relation features. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        d: the piece, with its note attributes (:func:`musicstyle.dynamics.dynamics_of`).

    Returns:
        float32 ``(len(RELATIONS),)`` (:func:`musicstyle.dynamics.relation_features`).
    """
    return relation_segments_of(d, None)[0]


def relation_segments_of(d: Dynamics, notes: int | None) -> np.ndarray:
    """A piece's relation features, one row per segment of about ``notes`` notes.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        d: the piece, with its note attributes (:func:`musicstyle.dynamics.dynamics_of`).
        notes: notes per segment (None or 0: one row for the whole piece, as :func:`relations_of`).

    Returns:
        float32 ``(segments, len(RELATIONS))`` (:func:`musicstyle.dynamics.relation_segments`).
    """
    if d.attributes is None:
        raise MusicstyleError("dynamics", "the relations judge needs the notes: build the dynamics with dynamics_of(perf)")
    return relation_segments(d.attributes, d.chord, d.z, notes)


def segment_log_probabilities(logits: np.ndarray) -> np.ndarray:
    """A piece's log-probability of each outcome from its segments' logits: their mean log-probability.

    Args:
        logits: ``(segments, outcomes)``.

    Returns:
        ``(outcomes,)`` float64 (for one segment, its log-probabilities).
    """
    from scipy.special import log_softmax

    return log_softmax(np.asarray(logits, np.float64), axis=1).mean(0)


def _relation_logits(model, meta: dict, d: Dynamics) -> np.ndarray:
    """The relations judge's (unnormalised) log-probability of each of :data:`OUTCOMES` for a piece:
    the mean over its segments when the judge was trained on segments (``segment_notes``)."""
    rows = relation_segments_of(d, meta.get("segment_notes"))
    return segment_log_probabilities(compiled(model)(rows))


def outcome_probabilities(model, meta: dict, data) -> dict:
    """P(classical), P(jazz) and P(unrelated) of a piece. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        model, meta: any discriminator (a binary one gives P(unrelated) = 0).
        data: MIDI bytes, a Performance or :class:`Dynamics` (with its notes for ``relations``).

    Returns:
        ``{outcome: probability}`` over :data:`OUTCOMES`, summing to 1. A relations judge gives a piece
        without dynamics (:func:`has_dynamics`) ``unrelated`` outright: its velocities relate to nothing.
    """
    d = as_dynamics(data)
    if meta.get("arch") == "relations":
        if not has_dynamics(d):
            return {o: float(o == UNRELATED) for o in OUTCOMES}
        logits = _relation_logits(model, meta, d)
        p = np.exp(logits - logits.max())
        return dict(zip(OUTCOMES, (p / p.sum()).tolist()))
    pj = p_jazz(model, meta, d)
    return {"classical": 1.0 - pj, "jazz": pj, "unrelated": 0.0}


def stretch_probabilities(model, meta: dict, perf: Performance) -> list[dict]:
    """A relations judge's verdict on each stretch of a piece it reads, in order.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. The piece's verdict
    (:func:`outcome_probabilities`) is its stretches' mean log-probability.

    Args:
        model, meta: a relations judge.
        perf: the piece (a Performance, MIDI bytes or a path).

    Returns:
        One dict per stretch: ``notes`` (first and last note index), ``start_s``, ``end_s`` (onsets of
        those notes, seconds) and the probability of each of :data:`OUTCOMES`.
    """
    if meta.get("arch") != "relations":
        raise MusicstyleError(meta.get("arch", "model"), "stretches are read by a relations judge, not this discriminator")
    perf = as_performance(perf)
    d = dynamics_of(perf)
    bounds = segment_bounds(len(d.velocity), meta.get("segment_notes"))
    if has_dynamics(d):
        logits = np.asarray(compiled(model)(relation_segments_of(d, meta.get("segment_notes"))), np.float64)
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
    else:
        p = np.tile([float(o == UNRELATED) for o in OUTCOMES], (len(bounds), 1))
    onset = perf.seconds(perf.notes["start"])
    return [{"notes": [a, b - 1], "start_s": round(float(onset[a]), 2), "end_s": round(float(onset[b - 1]), 2),
             **dict(zip(OUTCOMES, row.tolist()))} for (a, b), row in zip(bounds, p)]


def judged_as(model, meta: dict, data) -> str:
    """The outcome a judge gives a piece (the most probable of :func:`outcome_probabilities`), as training
    measures its validation accuracy.

    Args:
        model, meta: the judge.
        data: MIDI bytes, a Performance or :class:`Dynamics`.

    Returns:
        ``classical``, ``jazz`` or ``unrelated``.
    """
    p = outcome_probabilities(model, meta, data)
    return max(p, key=p.get)


def jazz_logit(model, meta: dict, d: Dynamics) -> float:
    """Log-odds that a piece's dynamics are jazz. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        model: a discriminator (for the ensemble, its list of ``(model, meta)`` members).
        meta: its metadata (``arch``: ``cnn``, ``stats`` or ``ensemble``).
        d: the piece.

    Returns:
        The logit (the CNN over the whole piece; the mean over segments for ``stats``; the mean of
        the members for the ensemble; log P(jazz) / P(classical) for ``relations``, from its
        segments' mean log-probabilities).
    """
    if meta.get("arch") == "relations":
        logits = _relation_logits(model, meta, d)
        return float(logits[1] - logits[0])
    if meta.get("arch") == ENSEMBLE:
        return float(np.mean([jazz_logit(m, mm, d) for m, mm in model]))
    if meta.get("arch") == "stats":
        f = segment_table(d)
        return float(np.mean(compiled(model)(f).ravel()))
    z = d.z.astype(np.float32)
    if z.size < 16:
        z = np.pad(z, (0, 16 - z.size))
    return float(compiled(model)(z[None, :, None]).ravel()[0])


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
    """A shipped discriminator, or a discriminator file. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        kind: ``relations``, ``cnn``, ``stats``, ``stats_raw`` or ``ensemble`` (of ``cnn`` and ``stats``), or a
            ``.keras`` file written by ``musicstyle train dynamics`` (as the other packages' ``load`` take).

    Returns:
        ``(model, meta)``, loaded once in safe mode (:func:`musicstyle.training.shipped.load_shipped`).
    """
    from ..training.shipped import load_shipped, pretrained_path

    if kind == ENSEMBLE:
        return ensemble({k: load(k) for k in SHIPPED})
    files = {**RELATIONAL, **SHIPPED, **RAW}
    if str(kind).endswith(".keras"):
        return load_shipped(kind, KIND)
    if kind not in files:
        raise MusicstyleError(kind, f"unknown discriminator kind (choose from {', '.join([*files, ENSEMBLE])})")
    return load_shipped(str(pretrained_path(files[kind])), KIND)


def load_model_file(path) -> tuple:
    """A discriminator saved by ``musicstyle train dynamics``. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        path: the ``.keras`` file.

    Returns:
        ``(model, meta)``, loaded in safe mode.
    """
    from ..training.modelfile import load_model

    return load_model(path, kind=KIND)


def relations_judge(path=None) -> tuple:
    """The trusted kind of judge: the shipped one (:data:`TRUSTED`), or a file of one's own, loaded once.

    Args:
        path: a relations judge written by ``musicstyle train dynamics`` (None: the shipped one), or one already
            loaded as ``(model, meta)``.

    Returns:
        ``(model, meta)``; a file of another kind of discriminator raises :class:`MusicstyleError` naming it.
    """
    if path is None:
        return load(TRUSTED)
    from ..training.shipped import load_shipped

    model, meta = path if isinstance(path, tuple) else load_shipped(path, KIND)
    path = path if not isinstance(path, tuple) else "judge"
    if meta.get("arch") != "relations":
        raise MusicstyleError(path, f"not a relations judge (a {meta.get('arch')} discriminator)")
    return model, meta


def verdict(data, judge=None) -> dict:
    """What the trusted judge (:data:`TRUSTED`) hears in a piece's dynamics.

    Taught in ``notebooks/02b_did_the_style_move.ipynb`` (and the widget, notebook 07).

    Args:
        data: MIDI bytes, a path or a Performance (bad MIDI raises :class:`MusicstyleError`).
        judge: a relations judge of one's own, a file or ``(model, meta)`` (None: the shipped one; :func:`relations_judge`).

    Returns:
        ``{"classical": p, "jazz": p, "unrelated": p}`` summing to 1 (:func:`outcome_probabilities`;
        ``unrelated``: velocities that do not fit the notes the way either genre plays them).
    """
    d = as_dynamics(data)  # bad input fails here, before any model is loaded
    model, meta = relations_judge(judge)
    return outcome_probabilities(model, meta, d)
