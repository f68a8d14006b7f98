"""Held-out per-step binary cross-entropy of the chords LSTM beside its three baselines.

Taught in ``notebooks/04_lstm_generation.ipynb``. Loss and metric: binary cross-entropy per step and
per column (mean) of the held columns, every (t -> t + 1) pair of a piece counted once.
"""

from __future__ import annotations

import numpy as np

from ..core.roll import Layout, rollable
from ..errors import MusicstyleError
from .baselines import baseline_sums, bce_sum
from .data import chunks, matrix
from .model import GENRES, load, shipped_name

_FIGURES = ("bce", "bce_zeros_baseline", "bce_marginal_baseline", "bce_copy_baseline")


def evaluate(model, meta: dict, pieces, vectors, length: int | None = None, batch_size: int = 32) -> dict:
    """Held-out BCE against the baselines. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Pieces are cut in chunks of ``length`` steps, each started from the piece's style vector.

    Args:
        model: a chords LSTM.
        meta: its metadata (``layout``, ``baselines``, ``train_length``).
        pieces: pieces with ``.performance``, or their matrices.
        vectors: each piece's style vector.
        length: steps per chunk (default: the training window).
        batch_size: chunks per model call.

    Returns:
        ``pieces``, ``steps``, ``bce``, ``bce_zeros_baseline``, ``bce_marginal_baseline``,
        ``bce_copy_baseline`` and ``ratio`` (``bce`` over the copy baseline's).
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
            sums["model"] += bce_sum(out[j, : len(x)], y[:, :cols])
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


def evaluate_split(data=None, split: str = "all", model_file=None) -> dict:
    """``musicstyle evaluate chords``: each genre's shipped LSTM on its pieces of one side of the split.

    Taught in ``notebooks/04_lstm_generation.ipynb``. Style vectors come from the shipped classifier.

    Args:
        data: a folder with ``classical/`` and ``jazz/`` (default: TPD).
        split: ``all``, ``train``, ``validation`` or ``test`` (seed :data:`musicstyle.data.SPLIT_SEED`).
        model_file: a chords .keras file to measure instead, on the pieces of its genre only.

    Returns:
        ``data``, ``split``, ``model_file`` (the file measured, or the shipped ones), ``skipped`` (``skipped_files``:
        the reason for each file that could not be read, if
        any), ``learned_from`` (the shipped models: :func:`musicstyle.data.learned.learned_share`; one's own:
        :func:`musicstyle.data.learned.model_learned_share`) if any, the :func:`evaluate` figures of each genre
        (``left_out``: the reason by piece read but not measured, if any), ``overall`` (pooled over the steps of both) and ``ratio`` (the overall
        one).
    """
    from .. import classifier
    from ..data import load_dataset, select
    from ..training.shipped import learned_caution

    chosen = load(model_file) if model_file else None
    collection = load_dataset("tpd", data, quick=False, progress=False)
    pieces = select(collection, split)
    style, style_meta = classifier.load()
    from ..training.shipped import described, model_file as resolve, pretrained_path

    files = [resolve(model_file)] if model_file else [pretrained_path(shipped_name(g)) for g in GENRES]
    result = {"data": str(collection.root), "split": split, "skipped": len(collection.skipped),
              "model_file": ", ".join(described(f) for f in files)}
    if collection.skipped:
        result["skipped_files"] = collection.skipped_files()
    measured = GENRES if chosen is None else [chosen[1]["genre"]]
    if note := learned_caution(model_file, chosen and chosen[1], [p.performance.sha256 for p in pieces if p.genre in measured],
                               split=split):
        result["learned_from"] = note
    totals = {}
    for genre in GENRES if chosen is None else [chosen[1]["genre"]]:
        these = [p for p in pieces if p.genre == genre]
        if not these:
            continue
        model, meta = chosen or load(genre)
        layout = Layout.from_dict(meta["layout"])
        these, left_out = rollable(these, layout, Layout.from_dict(style_meta["layout"]))
        mine = [matrix(p.performance, layout) for p in these]
        vectors = [classifier.style_vector(p.performance, style, style_meta) for p in these]
        if not mine:
            if left_out:
                result[genre] = {"pieces": 0, "left_out": left_out}
            continue
        r = result[genre] = evaluate(model, meta, mine, vectors)
        if left_out:
            r["left_out"] = left_out
        for k in _FIGURES:
            totals[k] = totals.get(k, 0.0) + r[k] * r["steps"]
        totals["steps"] = totals.get("steps", 0) + r["steps"]
        totals["pieces"] = totals.get("pieces", 0) + r["pieces"]
    if not totals:
        left = [f"{path}: {why}" for g in GENRES for path, why in result.get(g, {}).get("left_out", {}).items()]
        raise MusicstyleError(data or "tpd", "no classical or jazz pieces" + (f" to measure ({'; '.join(left)})" if left else ""))
    overall = {k: (v / totals["steps"] if k.startswith("bce") else v) for k, v in totals.items()}
    overall["ratio"] = overall["bce"] / overall["bce_copy_baseline"]
    result["overall"] = overall
    result["ratio"] = overall["ratio"]
    return result
