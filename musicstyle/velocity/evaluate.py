"""RMSE, MAE and Pearson r of the velocity models on held-out pieces, beside trivial baselines.

Taught in ``notebooks/02_velocity_cnn.ipynb``. Both architectures are measured on the same strikes:
every note of the paper's key range (MIDI 32-88). The baselines predict the training mean velocity,
or each key's training mean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.midi import velocities_vary
from ..data import GROUPS, SPLIT_SEED, no_pieces, recording_group, select
from ..data.learned import learned_share, model_learned_share
from ..errors import MusicstyleError
from ..training.shipped import is_shipped
from .data import Prepared, pieces_of
from .model import ARCHS, GENRES, is_note_model, predict_whole
from .shipped import load, load_file


def baselines(train: Prepared) -> dict:
    """The trivial predictions, from the training notes in the key range.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        train: the training pieces.

    Returns:
        ``train_mean`` (mean velocity), ``pitch_means`` (per key; keys never struck get the mean)
        and ``train_onsets``.
    """
    v = train.onset_velocities()
    mean = float(v[:, 0].mean()) if len(v) else 64.0
    k = train.layout.keys
    sums = np.bincount(v[:, 1], weights=v[:, 0], minlength=k)
    counts = np.bincount(v[:, 1], minlength=k)
    per = np.where(counts > 0, sums / np.maximum(counts, 1), mean)
    return {"train_mean": round(mean, 4), "pitch_means": [round(float(a), 4) for a in per], "train_onsets": int(len(v))}


def onset_predictions(model, prepared: Prepared, progress: str | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The model's velocity of every note in the key range, piece by piece.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity model.
        prepared: the pieces.
        progress: the label of a progress bar over the pieces (None: no bar).

    Returns:
        Per piece: (true velocity, predicted velocity, key column), float64, float64, int64.
    """
    from tqdm.auto import tqdm

    out = []
    pieces = tqdm(list(zip(prepared.velocity, prepared.column)), desc=progress, unit="piece", disable=progress is None)
    for i, (v, c) in enumerate(pieces):
        inside = c >= 0
        if is_note_model(model):
            pred = predict_whole(model, prepared.notes[i], prepared.piece[i])[inside]
        else:
            pred = predict_whole(model, prepared.grid(i)[0])[prepared.step[i][inside], c[inside]]
        out.append((v[inside].astype(np.float64), pred.astype(np.float64), c[inside]))
    return out


def metrics(per_piece: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Figures of predictions over onsets. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        per_piece: (true, predicted) velocities of each piece.

    Returns:
        ``rmse``, ``mae``, ``pearson_r``, ``within_piece_rmse`` (each piece's mean error removed) and
        ``within_piece_r`` (the correlation once each piece's own mean is taken from both truth and
        prediction: how well the notes' velocities are told apart, whatever the piece's level).
    """
    def centred(x):
        return x - x.mean()

    def correlation(a, b):
        return float(np.corrcoef(a, b)[0, 1]) if len(a) > 1 and np.ptp(a) > 1e-9 and np.ptp(b) > 1e-9 else 0.0

    pieces = [(t, p) for t, p in per_piece if len(t)]
    true = np.concatenate([t for t, _ in pieces]) if pieces else np.zeros(0)
    pred = np.concatenate([p for _, p in pieces]) if pieces else np.zeros(0)
    err = pred - true
    true_c = np.concatenate([centred(t) for t, _ in pieces]) if pieces else err
    pred_c = np.concatenate([centred(p) for _, p in pieces]) if pieces else err
    within = pred_c - true_c
    return {
        "rmse": round(float(np.sqrt(np.mean(err ** 2))), 3) if len(err) else None,
        "mae": round(float(np.mean(np.abs(err))), 3) if len(err) else None,
        "pearson_r": round(correlation(true, pred), 4),
        "within_piece_rmse": round(float(np.sqrt(np.mean(within ** 2))), 3) if len(within) else None,
        "within_piece_r": round(correlation(true_c, pred_c), 4),
    }


def piece_figures(names: list[str], per: list[tuple[np.ndarray, np.ndarray, np.ndarray]], mean: float) -> list[dict]:
    """One model's figures on each piece, to find the pieces it does worst on.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        names: the pieces' names.
        per: :func:`onset_predictions` of those pieces.
        mean: the training mean (the baseline).

    Returns:
        Per piece with onsets: ``name``, ``onsets``, ``rmse``, ``rmse_mean_baseline``, ``level_error``
        (mean prediction minus mean velocity), ``within_piece_rmse`` and ``within_piece_r``.
    """
    out = []
    for name, (t, p, _) in zip(names, per):
        if not len(t):
            continue
        f = metrics([(t, p)])
        out.append({"name": name, "onsets": len(t), "rmse": f["rmse"],
                    "rmse_mean_baseline": round(float(np.sqrt(np.mean((t - mean) ** 2))), 3),
                    "level_error": round(float(p.mean() - t.mean()), 3),
                    "within_piece_rmse": f["within_piece_rmse"], "within_piece_r": f["within_piece_r"]})
    return out


def group_figures(groups: list[str], per: list[tuple[np.ndarray, np.ndarray, np.ndarray]], mean: float) -> dict:
    """One model's figures on the pieces of each recording-source group, to see where it fares worst.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        groups: each piece's group (:func:`musicstyle.data.recording_group`).
        per: :func:`onset_predictions` of those pieces.
        mean: the training mean (the baseline).

    Returns:
        group -> ``pieces``, ``onsets``, :func:`metrics`, ``rmse_mean_baseline``, ``rmse_ratio``,
        ``within_piece_rmse_mean_baseline`` and ``level_error`` (mean prediction minus mean velocity
        over the onsets), for the groups of :data:`musicstyle.data.GROUPS` with onsets, in that order.
    """
    out = {}
    for group in GROUPS:
        these = [(t, p) for g, (t, p, _) in zip(groups, per) if g == group and len(t)]
        if not these:
            continue
        f, baseline = metrics(these), metrics([(t, np.full_like(t, mean)) for t, _ in these])
        true, pred = np.concatenate([t for t, _ in these]), np.concatenate([p for _, p in these])
        out[group] = {"pieces": len(these), "onsets": len(true), **f, "rmse_mean_baseline": baseline["rmse"],
                      "rmse_ratio": round(f["rmse"] / baseline["rmse"], 4) if baseline["rmse"] else None,
                      "within_piece_rmse_mean_baseline": baseline["within_piece_rmse"],
                      "level_error": round(float(pred.mean() - true.mean()), 3)}
    return out


def evaluate_pieces(pieces, genre: str, models: dict, per_piece: bool = False, by_group: bool = False,
                    progress: bool = False) -> dict:
    """Figures of each model and of the baselines on ``pieces``.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        pieces: the pieces (of one genre).
        genre: their genre (reported).
        models: name -> ``(model, meta)``; the first is the one reported as ``rmse``/``pearson_r``/...,
            and the baselines use its metadata's training means.
        per_piece: also the first model's :func:`piece_figures` (``per_piece``).
        by_group: also the first model's :func:`group_figures` (``by_group``).
        progress: show a progress bar for each model.

    Returns:
        The first model's figures, ``rmse_ratio`` (over the mean baseline), ``rmse_<name>`` of the
        others, every model's and baseline's figures under ``figures``, ``no_dynamics`` (how many of
        the pieces have one velocity for every note: measured, with only their level to predict), and
        ``left_out`` (the reason by piece, if any: no note in the key range, or too long for a grid).
    """
    pieces = list(pieces)
    prepared = Prepared(pieces)
    names = list(models)
    main_meta = models[names[0]][1]
    mean = float(main_meta["train_mean"])
    pitch = np.asarray(main_meta["pitch_means"], np.float64)
    result = {"genre": genre, "pieces": len(prepared), "onsets": len(prepared.onset_velocities()),
              "no_dynamics": sum(not velocities_vary(v) for v in prepared.velocity)}
    if prepared.left_out:
        result["left_out"] = prepared.left_out
    if not len(prepared):
        return result
    figures, first = {}, None
    for name in names:
        per = onset_predictions(models[name][0], prepared, f"{genre} {name}" if progress else None)
        first = per if first is None else first
        figures[name] = metrics([(t, p) for t, p, _ in per])
    figures["mean_baseline"] = metrics([(t, np.full_like(t, mean)) for t, _, _ in first])
    figures["pitch_mean_baseline"] = metrics([(t, pitch[c]) for t, _, c in first])
    main = figures[names[0]]
    result.update(main)
    result["rmse_mean_baseline"] = figures["mean_baseline"]["rmse"]
    result["rmse_pitch_mean_baseline"] = figures["pitch_mean_baseline"]["rmse"]
    result["rmse_ratio"] = round(main["rmse"] / figures["mean_baseline"]["rmse"], 4)
    for name in names[1:]:
        result[f"rmse_{name}"] = figures[name]["rmse"]
        result[f"rmse_ratio_{name}"] = round(figures[name]["rmse"] / figures["mean_baseline"]["rmse"], 4)
    result["figures"] = figures
    if per_piece:
        result["per_piece"] = piece_figures(prepared.names, first, mean)
    if by_group:
        perfs = [getattr(pieces[i], "performance", pieces[i]) for i in prepared.kept]
        result["by_group"] = group_figures([recording_group(perf) for perf in perfs], first, mean)
    return result


def _shipped(genre: str) -> dict:
    out = {"improved": load(genre, "improved")}
    for arch in ARCHS[1:]:
        try:
            out[arch] = load(genre, arch)
        except MusicstyleError:
            pass
    return out


def model_files(paths) -> dict:
    """Velocity model files by genre, for :func:`evaluate`'s ``models``.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        paths: ``.keras`` files written by ``musicstyle train velocity``.

    Returns:
        genre -> {file stem: (model, meta)}, in the order given; each meta also says the ``file`` it was read from.
    """
    out = {}
    for path in paths:
        model, meta = load_file(path)
        out.setdefault(meta["genre"], {})[Path(path).stem] = (model, {**meta, "file": str(path)})
    return out


def evaluate(data=None, split: str = "all", models: dict | None = None, collection=None, hold_out: str | None = None,
             per_piece: bool = False, by_group: bool = False, progress: bool = False) -> dict:
    """Each genre's shipped models (improved, then paper and stylenet where shipped) on its own genre's pieces.

    Reproduced by ``musicstyle evaluate velocity``; taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        data: any folder with ``classical/`` and ``jazz/`` subfolders (default TPD as found).
        split: ``all`` every file (for foreign data), ``test``/``validation``/``train`` of the
            piece-level split (use ``test`` on TPD: the other pieces trained the models), or
            ``held-out``: every piece of the ``hold_out`` group.
        models: genre -> {name: (model, meta)}; default the shipped models.
        collection: already loaded pieces (instead of ``data``).
        hold_out: a recording-source group (:data:`musicstyle.data.GROUPS`) left out of the split,
            or measured alone with ``split="held-out"``: pass models trained with the same ``hold_out``.
        per_piece: each genre's main model also piece by piece (:func:`piece_figures`).
        by_group: each genre's main model also on each recording-source group (:func:`group_figures`).
        progress: show progress bars (on stderr) while loading and measuring.

    Returns:
        ``split``, ``data``, ``hold_out``, ``skipped`` (how many files could not be read;
        ``skipped_files``: the reason for each, if any), ``learned_from`` (a caution if some pieces are files
        the models measured learned from: the shipped ones, :func:`musicstyle.data.learned.learned_share`; one's own,
        :func:`musicstyle.data.learned.model_learned_share`)
        and each genre's :func:`evaluate_pieces` (with each main model's own ``trained_hold_out``); a genre
        without pieces has only its counts. Raises :class:`MusicstyleError` when neither genre has a piece
        (:func:`musicstyle.data.no_pieces`) or one with notes in the key range.
    """
    collection = pieces_of(data, collection, progress=progress)
    pieces = select(collection, split, seed=SPLIT_SEED, hold_out=hold_out)
    if not pieces:  # one genre will do; neither is nothing to measure
        raise no_pieces(collection.root, split, hold_out=hold_out)
    result = {"split": split, "data": str(collection.root), "hold_out": hold_out, "skipped": len(collection.skipped)}
    if collection.skipped:
        result["skipped_files"] = collection.skipped_files()
    shipped, cautions = [], []  # the pieces measured by shipped models (one caution for all), and one's own models'
    for genre in GENRES:
        these = [p.performance.sha256 for p in pieces if p.genre == genre]
        given = (models or {}).get(genre) or {}
        for name, (_, meta) in given.items():
            if meta.get("genre") != genre:  # its figures would be another genre's model on these pieces
                raise MusicstyleError(meta.get("file", name), f"a {meta.get('genre')} velocity model, given for {genre}")
        own = {name: meta for name, (_, meta) in given.items() if not (meta.get("file") and is_shipped(meta["file"]))}
        if not given or len(own) < len(given):  # a shipped model measures this genre
            shipped += these
        cautions += [note for name, meta in own.items()
                     if (note := model_learned_share(meta, these, Path(meta["file"]).name if "file" in meta else name, split))]
    if shipped and (note := learned_share(shipped, split=split)):
        cautions.insert(0, note)
    if cautions:
        result["learned_from"] = "; ".join(cautions)
    for genre in GENRES:
        these = [p for p in pieces if p.genre == genre]
        chosen = (models or {}).get(genre) or _shipped(genre)
        result[genre] = evaluate_pieces(these, genre, chosen, per_piece=per_piece, by_group=by_group, progress=progress)
        result[genre]["trained_hold_out"] = next(iter(chosen.values()))[1].get("hold_out")
    if not any(result[g]["pieces"] for g in GENRES):
        left = "; ".join(f"{name}: {why}" for g in GENRES for name, why in result[g].get("left_out", {}).items())
        raise MusicstyleError(collection.root, f"no classical or jazz pieces to measure ({left})")
    return result


def add_test_metrics(model, meta: dict, data=None, collection=None, hold_out: str | None = None) -> dict:
    """Store the model's figures on its genre's test pieces in ``meta['test']`` (and ``meta['held_out']``).

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity model.
        meta: its metadata (``genre``, ``arch``, baselines); updated in place.
        data: the dataset folder (default TPD as found).
        collection: already loaded pieces (instead of ``data``).
        hold_out: the group the model was trained without: ``test`` leaves it out, and
            ``held_out`` holds the figures on all of its pieces.

    Returns:
        The test figures (without the per-model ``figures``).
    """
    collection = pieces_of(data, collection)
    for key, split in (("test", "test"), ("held_out", "held-out")):
        if split == "held-out" and hold_out is None:
            continue
        pieces = select(collection, split, meta["genre"], seed=SPLIT_SEED, hold_out=hold_out)
        result = evaluate_pieces(pieces, meta["genre"], {meta["arch"]: (model, meta)})
        result.pop("figures", None)
        meta[key] = result
    return meta["test"]


def stored_figures(meta: dict) -> dict:
    """The ``test_*`` (and ``held_out_*``) figures that :func:`add_test_metrics` stored, flat, for a command's output."""
    return {f"{side}_{k}": v for side in ("test", "held_out") for k, v in meta.get(side, {}).items() if not isinstance(v, dict)}
