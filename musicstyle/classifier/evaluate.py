"""Using a classifier: window probabilities, the verdict on a piece, accuracy by vote, the style vector.

Taught in ``notebooks/03_genre_classifier.ipynb``. A piece's verdict is the mean probability of
jazz over its windows; accuracy is measured per window (segment) and per piece against the
majority baseline.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.inputs import input_file
from ..core.midi import Performance, as_performance, read_midi
from ..core.roll import Layout, grid_steps
from ..data import GROUPS, no_pieces, recording_group
from ..errors import MusicstyleError
from ..training.shipped import described, learned_caution, model_file as resolve_model_file, pretrained_path
from .data import CLASSES, features, first_beats, tpd_pieces, windows
from .model import SHIPPED, load, style_model

#: The paper's segment-level test accuracy (on a split that leaked pieces).
PAPER_ACCURACY = 0.93


def _predict(model, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    out = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(out)


def _windows_of(perf: Performance, meta: dict) -> np.ndarray:
    return windows(features(perf, Layout.from_dict(meta["layout"])), meta["length"])


def window_probabilities(model, meta: dict, perf: Performance) -> np.ndarray:
    """P(jazz) of each window of a piece. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        model: a classifier.
        meta: its metadata (``layout``, ``length``).
        perf: the piece.

    Returns:
        (windows,) probabilities of jazz.
    """
    return _predict(model, _windows_of(perf, meta))[:, 0]


def evaluate(model, meta: dict, pieces, by_group: bool = False) -> dict:
    """Accuracy by window and by vote. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        model: a classifier.
        meta: its metadata.
        pieces: pieces with ``.performance``, ``.genre`` and ``.path``.
        by_group: also ``by_group``: the same figures on each recording-source group of the pieces
            (:func:`musicstyle.data.recording_group`, in the order of :data:`musicstyle.data.GROUPS`).

    Returns:
        ``segments``, ``segment_accuracy``, ``pieces``, ``piece_accuracy`` (vote = mean probability),
        ``majority_baseline`` (the three None without a piece), ``confusion``, ``paper_accuracy_leaky_split``
        and ``left_out`` (the reason by piece, if any: no note in the classifier's key range, or too long for a
        matrix).
    """
    rows, left_out = [], {}  # per piece: true label, voted label, windows, windows right, group
    for p in pieces:
        try:
            probs = window_probabilities(model, meta, p.performance)
        except MusicstyleError as err:  # no note in the key range, or too long for a matrix
            left_out[p.path] = err.reason
            continue
        label = CLASSES.index(p.genre)
        rows.append((label, int(probs.mean() > 0.5), len(probs), int(((probs > 0.5) == bool(label)).sum()),
                     recording_group(p.performance) if by_group else None))
    result = {**_accuracy(rows), "paper_accuracy_leaky_split": PAPER_ACCURACY}
    if by_group:
        result["by_group"] = {g: _accuracy(rs) for g in GROUPS if (rs := [r for r in rows if r[4] == g])}
    if left_out:
        result["left_out"] = left_out
    return result


def _accuracy(rows: list[tuple]) -> dict:
    """Segment and piece accuracy, the majority baseline and the confusion of :func:`evaluate`'s rows."""
    truth, guess = np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64)
    segments = sum(r[2] for r in rows)
    confusion = [[int(((truth == i) & (guess == j)).sum()) for j in range(2)] for i in range(2)]
    counts = np.bincount(truth, minlength=2)
    measured = len(truth) > 0  # no piece: no figure (None), never a 0 or NaN of nothing
    return {
        "segments": int(segments),
        "segment_accuracy": sum(r[3] for r in rows) / segments if measured else None,
        "pieces": int(len(truth)),
        "piece_accuracy": float((truth == guess).mean()) if measured else None,
        "majority_baseline": float(counts.max() / counts.sum()) if measured else None,
        "confusion": {"rows_true": list(CLASSES), "cols_predicted": list(CLASSES), "counts": confusion},
    }


def accuracy_by_length(model, meta: dict, pieces, lengths=(8, 16, 32, 64, None)) -> list[dict]:
    """A classifier's piece accuracy on pieces cut to their first N beats, for each N.

    Taught in ``notebooks/03_genre_classifier.ipynb`` (section 7). A piece shorter than one window fills
    the rest of it with silence, which the classifier saw little of in training (:func:`caution`). A piece
    no longer than N beats is left out of that row, and so is a cut with no note in the classifier's key range.

    Args:
        model, meta: the classifier.
        pieces: :class:`musicstyle.data.Piece` objects of both genres.
        lengths: beats kept (None: the whole piece).

    Returns:
        One row per length: ``beats`` (None for whole pieces), ``pieces`` measured, ``piece_accuracy`` (None
        without a piece) and ``segments`` (windows read).
    """
    rows = []
    for beats in lengths:
        cut = [p if beats is None else dataclasses.replace(p, performance=first_beats(p.performance, beats))
               for p in pieces if beats is None or p.performance.end_tick > beats * p.performance.ticks_per_quarter]
        result = evaluate(model, meta, cut)
        rows.append({"beats": beats, "pieces": result["pieces"], "piece_accuracy": result["piece_accuracy"],
                     "segments": result["segments"]})
    return rows


def verdict(data, model=None, meta: dict | None = None) -> dict:
    """Classical or jazz? Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        data: MIDI bytes, a path or a Performance.
        model, meta: a classifier and its metadata (default: the shipped one).

    Returns:
        ``{"classical": 1 - p, "jazz": p}``, ``p`` the mean P(jazz) over the windows.
    """
    perf = as_performance(data)  # bad input fails here, before any model loads
    model, meta = _model_and_meta(model, meta)
    q = float(window_probabilities(model, meta, perf).mean())
    return {"classical": 1.0 - q, "jazz": q}


def style_vector(perf, model=None, meta: dict | None = None) -> np.ndarray:
    """The piece's style vector. Taught in ``notebooks/03_genre_classifier.ipynb``.

    The style sub-model shares the classifier's weights and costs about a millisecond to make, so
    it is made on each call; the classifier itself is loaded once.

    Args:
        perf: a Performance, MIDI bytes or a path.
        model, meta: a classifier and its metadata (default: the shipped one).

    Returns:
        (50,) float32: the ``style`` layer averaged over the windows of the piece.
    """
    perf = as_performance(perf)
    model, meta = _model_and_meta(model, meta)
    x = _windows_of(perf, meta)
    return _predict(style_model(model), x).mean(axis=0).astype(np.float32)


def project_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCA in numpy. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        vectors: (n, d) style vectors.

    Returns:
        (n, 2) coordinates (signs fixed) and the share of variance of each axis.
    """
    v = np.asarray(vectors, np.float64)
    centred = v - v.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    explained = s**2 / max((s**2).sum(), 1e-12)
    coords = centred @ vt[:2].T
    coords *= np.where(np.abs(coords).max(0) > 0, np.sign(coords[np.abs(coords).argmax(0), [0, 1]]), 1)  # fixed sign
    return coords, explained[:2]


def _model_and_meta(model, meta: dict | None) -> tuple:
    """The shipped classifier when ``model`` is None, else ``model`` with its metadata (required)."""
    if model is None:
        if meta is not None:  # the shipped model would answer, under another model's metadata
            raise MusicstyleError("model", "metadata given without its classifier: model, meta = classifier.load(FILE)")
        return load()
    if meta is None:
        raise MusicstyleError("meta", "a classifier given as model needs its metadata too: model, meta = classifier.load(FILE)")
    return model, meta


def caution(perf, meta: dict | None = None) -> str | None:
    """What to say beside a classifier's verdict on a piece (None: nothing).

    Args:
        perf: the piece (a Performance, MIDI bytes or a path).
        meta: the classifier's metadata (``layout``, ``length``; default: the shipped classifier's).

    Returns:
        For a piece shorter than one window, that the classifier is right less often on so little
        (:func:`musicstyle.classifier.accuracy_by_length`); else None.
    """
    perf = as_performance(perf)
    if meta is None:
        _, meta = load()
    if "layout" not in meta or "length" not in meta:
        raise MusicstyleError("meta", "not a classifier's metadata (it has no layout and window length)")
    layout = Layout.from_dict(meta["layout"])
    if grid_steps(perf, layout) >= meta["length"]:
        return None
    beats = perf.end_tick / perf.ticks_per_quarter
    return (f"only {beats:.3g} beat{'s' * (beats != 1)} of music: the classifier reads windows of "
            f"{meta['length'] / layout.steps_per_beat:g} beats, and on held-out pieces cut shorter than one window "
            f"it is right less often (notebook 03, section 7)")


def classify(file, model_file=None) -> dict:
    """``musicstyle classify``. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        file: a MIDI file (read before any model loads, so bad input fails first).
        model_file: a classifier .keras file (default: the shipped one).

    Returns:
        The :func:`verdict` with ``windows``, ``genre``, ``model`` (the architecture), ``model_file`` (the file
        read: a shipped one's name, or the path) and, for a piece shorter than one window, ``caution`` (:func:`caution`).
    """
    path = input_file(file)
    perf = read_midi(path)
    model, meta = load(model_file) if model_file else load()
    probs = window_probabilities(model, meta, perf)
    q = float(probs.mean())
    result = {"classical": 1.0 - q, "jazz": q}
    result = {**result, "windows": int(len(probs)), "genre": max(CLASSES, key=result.get), "model": meta.get("arch"),
              "model_file": described(resolve_model_file(model_file or pretrained_path(SHIPPED)))}
    if note := caution(perf, meta):
        result["caution"] = note
    return result


def evaluate_command(data=None, split: str = "all", model_file=None, by_group: bool = False, by_length: bool = False) -> dict:
    """``musicstyle evaluate classifier``. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        data: a folder with ``classical/`` and ``jazz/`` (default: TPD).
        split: ``all``, ``train``, ``validation`` or ``test``.
        model_file: a classifier .keras file (default: the shipped one).
        by_group: also the figures on each recording-source group (``by_group``).
        by_length: also the piece accuracy on the pieces cut to their first 8, 16, 32 and 64 beats, and
            whole (``by_length``, rows of :func:`accuracy_by_length`).

    Returns:
        The :func:`evaluate` figures with ``data``, ``split``, ``skipped`` (``skipped_files``: the reason for each
        file that could not be read, if any), ``model``, ``model_file`` (a shipped one's name, or the path),
        ``layout_columns`` and ``learned_from`` (a shipped model: :func:`musicstyle.data.learned.learned_share`;
        one's own: :func:`musicstyle.data.learned.model_learned_share`) if any. Raises :class:`MusicstyleError` when
        the side has no piece (:func:`~musicstyle.data.no_pieces`) or none the model can read.
    """
    path = resolve_model_file(model_file or pretrained_path(SHIPPED))
    model, meta = load(str(path))
    pieces, collection = tpd_pieces(data, split)
    if not pieces:
        raise no_pieces(collection.root, split)
    result = evaluate(model, meta, pieces, by_group=by_group)
    if not result["pieces"]:
        left = "; ".join(f"{name}: {why}" for name, why in result["left_out"].items())
        raise MusicstyleError(collection.root, f"no classical or jazz pieces to measure ({left})")
    result.update(data=str(collection.root), split=split, skipped=len(collection.skipped), model=meta.get("arch"),
                  model_file=described(path),
                  layout_columns=Layout.from_dict(meta["layout"]).columns)
    if by_length:  # the whole pieces' row is the figures above, not measured again
        whole = {"beats": None, **{k: result[k] for k in ("pieces", "piece_accuracy", "segments")}}
        result["by_length"] = accuracy_by_length(model, meta, pieces, lengths=(8, 16, 32, 64)) + [whole]
    if collection.skipped:
        result["skipped_files"] = collection.skipped_files()
    if note := learned_caution(path, meta, [p.performance.sha256 for p in pieces], split=split):
        result["learned_from"] = note
    return result
