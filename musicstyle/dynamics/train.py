"""Training a discriminator through the one trainer (:func:`musicstyle.training.trainer.train`).

Taught in ``notebooks/02b_did_the_style_move.ipynb``. The CNN learns from fresh random crops every
epoch and keeps the epoch with the best validation piece accuracy; the statistics MLP learns from
its fixed table of segment statistics (every epoch the same table, reshuffled); the relations judge
from its table of stretches' relations (:mod:`.relations_training`).
"""

from __future__ import annotations


import numpy as np

from ..core.inputs import input_folder
from ..core.notes import CHORD_WINDOW_S
from ..data import no_pieces
from ..data.learned import LEARNED_KEY, learned_record
from ..errors import MusicstyleError
from .data import GENRES, MIN_STD, OUTCOMES, Item, load_pieces, real_and_own, velocity_predictors
from .model import (
    KIND, RELATIONAL, RELATIONS_HIDDEN, RELATIONS_MEMBERS, SHIPPED, STATS_HIDDEN, build_cnn, build_stats, jazz_logit, judged_as,
)
from .observations import FEATURES, SEGMENT, segment_table
from .relations import ATTRIBUTES, RELATIONS, SEGMENT_NOTES
from .relations_training import outcome_shares, relation_table, train_relations, unrelated_items

#: Crop length (onsets) the CNN is trained on.
CROP = 256


def _loss():
    import functools

    import keras

    return functools.partial(keras.losses.binary_crossentropy, from_logits=True)


def _crops(items: list[Item], per_item: int, rng: np.random.Generator, length: int = CROP):
    """``per_item`` random crops of ``length`` onsets of each item's z (zero-padded when shorter)."""
    x = np.zeros((len(items) * per_item, length, 1), np.float32)
    y = np.zeros((len(items) * per_item, 1), np.float32)
    for i, it in enumerate(items):
        z = it.dynamics.z.astype(np.float32)
        for j in range(per_item):
            k = i * per_item + j
            if len(z) <= length:
                x[k, : len(z), 0] = z
            else:
                s = int(rng.integers(0, len(z) - length + 1))
                x[k, :, 0] = z[s : s + length]
            y[k] = it.label
    return x, y


def piece_accuracy(model, meta: dict, items: list[Item]) -> float:
    """Share of items judged as their genre. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        model, meta: the discriminator (see :func:`musicstyle.dynamics.jazz_logit`).
        items: the pieces.

    Returns:
        The share, 0-1 (NaN without items).
    """
    if not items:
        return float("nan")
    if meta.get("arch") == "relations":
        ok = [judged_as(model, meta, it.dynamics) == it.genre for it in items]
    else:
        ok = [(jazz_logit(model, meta, it.dynamics) > 0) == (it.genre == "jazz") for it in items]
    return float(np.mean(ok))


def train_cnn(train: list[Item], validation: list[Item], epochs: int = 12, crops: int = 8, seed: int = 0,
              verbose: int = 1, strategy=None, checkpoint_dir=None):
    """Train the sequence discriminator on crops. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        train: training items; each epoch draws ``crops`` fresh crops of each.
        validation: items whose piece accuracy picks the epoch kept.
        epochs, seed, verbose: as for :func:`musicstyle.training.trainer.train`.
        crops: crops per item per epoch.
        strategy, checkpoint_dir: passed to the trainer.

    Returns:
        ``(model, history)``: the model of the best epoch and the per-epoch rows.
    """
    from ..training.trainer import Schedule
    from ..training.trainer import train as run

    meta = {"arch": "cnn"}
    trained = run(
        build_cnn, lambda epoch, rng: _crops(train, crops, rng), _loss(),
        score=lambda model: {"val_piece_accuracy": piece_accuracy(model, meta, validation)},
        schedule=Schedule(epochs=epochs, batch_size=32, learning_rate=2e-3, halve_after=None, patience=None,
                          monitor="val_piece_accuracy", mode="max"),
        strategy=strategy, checkpoint_dir=checkpoint_dir, seed=seed, label="dynamics cnn", verbose=verbose)
    return trained.model, trained.history


def _segment_rows(items: list[Item]):
    """Every item's segment statistics, one row per segment, labelled with the item's genre."""
    tables = [segment_table(it.dynamics) for it in items]
    y = np.concatenate([np.full((len(t), 1), it.label, np.float32) for t, it in zip(tables, items)])
    return np.concatenate(tables), y


def train_stats(train: list[Item], validation: list[Item], epochs: int = 60, seed: int = 0, verbose: int = 1,
                hidden: int = 0, strategy=None, checkpoint_dir=None):
    """Train the statistics discriminator on segment statistics.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        train: training items (every segment one row).
        validation: items whose piece accuracy is reported after training.
        epochs, seed, verbose: as for :func:`musicstyle.training.trainer.train`.
        hidden: hidden ReLU units (see :func:`musicstyle.dynamics.build_stats`).
        strategy, checkpoint_dir: passed to the trainer.

    Returns:
        ``(model, history)``; the row of the epoch kept holds ``val_piece_accuracy``.
    """
    from ..training.trainer import Schedule
    from ..training.trainer import train as run

    x, y = _segment_rows(train)
    trained = run(
        lambda: build_stats(x.mean(0), x.var(0), hidden=hidden), lambda epoch, rng: (x, y), _loss(),
        schedule=Schedule(epochs=epochs, batch_size=256, learning_rate=2e-2, halve_after=None, patience=None,
                          monitor="loss"),
        strategy=strategy, checkpoint_dir=checkpoint_dir, seed=seed, label="dynamics stats", verbose=verbose)
    acc = piece_accuracy(trained.model, {"arch": "stats"}, validation)
    kept = trained.best_epoch or len(trained.history)
    for row in trained.history:
        if row["epoch"] == kept:
            row["val_piece_accuracy"] = acc
    if verbose:
        print(f"stats: validation piece accuracy {acc:.3f}", flush=True)
    return trained.model, trained.history


def augmenting_predictors(extra: list[dict] | None = None, archs: tuple | None = None) -> list[dict]:
    """Velocity-model sets whose own-genre re-predictions train a discriminator.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        extra: more {genre: file.keras} pairs.
        archs: the shipped architectures to use (default: every one of :data:`musicstyle.velocity.ARCHS`).

    Returns:
        Every (chosen) shipped architecture's set (improved first, then the paper's where shipped), then
        ``extra``'s; each genre -> :class:`musicstyle.dynamics.Predictions`.
    """
    from ..velocity import ARCHS

    archs, sets = archs or ARCHS, []
    for arch in archs:
        try:
            sets.append(velocity_predictors(arch))
        except MusicstyleError:
            if arch == archs[0]:
                raise
    for files in extra or []:
        sets.append(velocity_predictors(files=files))
    return sets


def train(kind: str = "relations", data=None, epochs: int | None = None, quick: bool | None = None,
          own_model: bool = True, seed: int = 0, verbose: int = 1, extra_models: list[dict] | None = None,
          strategy=None, checkpoint_dir=None, hold_out: str | None = None, hidden: int | None = None,
          segment_notes: int | None = SEGMENT_NOTES, members: int = 1) -> tuple:
    """Train a discriminator on the piece-level split of a folder with classical/ and jazz/.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``; reproduced by ``musicstyle train dynamics``.
    The train side trains, the validation side picks the epoch. With ``own_model`` each genre's
    velocity models (:func:`augmenting_predictors`) re-predicting that genre's own pieces are added,
    labelled with the genre, to both sides (so smoothness is no cue); the controls stored in the
    metadata use the first set (the shipped improved models). The ``relations`` judge uses the improved
    models (and ``extra_models``) only, and also learns a third outcome from :func:`unrelated_items`
    (shuffled velocities, texture alone, both genres').

    Args:
        kind: ``relations`` (the trusted kind, the default), ``cnn`` or ``stats``.
        data: the folder (default: TPD).
        epochs: most epochs (default: 12 for cnn, 60 for stats, 150 for relations; fewer in quick mode).
        quick: quick mode (default: ``MUSICSTYLE_QUICK``).
        own_model: add the velocity models' own-genre re-predictions (False: the raw discriminator).
        seed: seeds the weights and the crops.
        verbose: 0 silent, 1 progress.
        extra_models: more {genre: file.keras} velocity-model pairs.
        strategy: a ``tf.distribute`` strategy (default: :func:`musicstyle.training.device.strategy`).
        checkpoint_dir: folder of the trainer's resumable checkpoint.
        hold_out: a recording-source group (:data:`musicstyle.data.GROUPS`) left out of every side,
            for a leave-group-out figure (``evaluate transfer --split held-out --hold-out GROUP``).
        hidden: hidden ReLU units of the relations or stats judge (default :data:`RELATIONS_HIDDEN`
            or :data:`STATS_HIDDEN`; 0: logistic regression).
        segment_notes: notes per segment the relations judge reads (0: whole pieces).
        members: relations judges trained from seeds ``seed``, ``seed + 1``, ... and averaged (the
            other kinds train one network).

    Returns:
        ``(model, meta)``. Raises :class:`MusicstyleError` when the split leaves a genre no validation piece
        (:func:`musicstyle.data.no_pieces`).
    """
    from ..data import SPLIT_SEED, pieces_checksum, select
    from ..settings import quick_mode

    if kind not in {**RELATIONAL, **SHIPPED}:
        raise MusicstyleError(kind, f"unknown discriminator kind (choose from {', '.join({**RELATIONAL, **SHIPPED})})")
    if members < 1 or (members > 1 and kind != "relations"):
        raise MusicstyleError(members, "members: 1 or more, and more than 1 only for the relations judge")
    if segment_notes is not None and segment_notes < 0:
        raise MusicstyleError(segment_notes, "notes per segment must be 0 (whole pieces) or more")
    quick = quick_mode() if quick is None else quick
    collection = load_pieces(data, quick=quick, progress=verbose > 0)
    train_pieces = select(collection, "train", hold_out=hold_out)
    val_pieces = select(collection, "validation", hold_out=hold_out)
    for genre in GENRES:  # the epoch kept is chosen on both genres' validation pieces, never on training pieces
        if not any(p.genre == genre for p in val_pieces):
            raise no_pieces(collection.root, "validation", genre, hold_out)
    try:
        sets = augmenting_predictors(extra_models, ("improved",) if kind == "relations" else None)
    except MusicstyleError:
        if own_model:
            raise
        sets = []  # a raw discriminator needs no velocity model; its controls are then unknown
    tr = real_and_own(train_pieces, None)
    va_all = real_and_own(val_pieces, sets[0] if sets else None)
    va = [it for it in va_all if it.source == "real"]
    if own_model:
        for i, predictors in enumerate(sets):
            tr += [it for it in real_and_own(train_pieces, predictors) if it.source != "real"]
            va += [it for it in (va_all if i == 0 else real_and_own(val_pieces, predictors)) if it.source != "real"]
    for predictors in sets:
        for p in predictors.values():
            p.save()
    common = {"seed": seed, "verbose": verbose, "strategy": strategy, "checkpoint_dir": checkpoint_dir}
    if kind == "relations":
        metas = {g: p.meta for g, p in sets[0].items()} if sets else {}
        va_unrelated = unrelated_items(val_pieces, metas, seed=10_000)
        hidden = RELATIONS_HIDDEN if hidden is None else hidden
        validation = va + va_unrelated
        table = relation_table(validation, segment_notes)
        model, history = train_relations(tr + unrelated_items(train_pieces, metas, seed=seed), validation,
                                         epochs=epochs or (10 if quick else 150), hidden=hidden,
                                         notes=segment_notes, validation_table=table, members=members, **common)
    elif kind == "cnn":
        model, history = train_cnn(tr, va, epochs=epochs or (2 if quick else 12), **common)
    else:
        hidden = STATS_HIDDEN if hidden is None else hidden
        model, history = train_stats(tr, va, epochs=epochs or (10 if quick else 60), hidden=hidden, **common)
    va_real = [it for it in va_all if it.source == "real"]
    va_own = {g: [it for it in va_all if it.source == "own model" and it.genre == g] for g in GENRES}
    judge = {"arch": kind, "segment_notes": segment_notes or None}  # read as the saved judge will be
    scored = [h.get("val_piece_accuracy", h.get("val_outcome_accuracy")) for h in history
              if "val_piece_accuracy" in h or "val_outcome_accuracy" in h]
    meta = {
        "kind": KIND,
        "arch": kind,
        "genres": list(GENRES),
        "labels": {"0": "classical", "1": "jazz"},
        "input": _input_description(kind, segment_notes),
        "features": {"stats": list(FEATURES), "relations": list(RELATIONS)}.get(kind),
        "segment": {"stats": SEGMENT, "cnn": CROP}.get(kind),
        "chord_window_s": CHORD_WINDOW_S,
        "min_std": MIN_STD,
        "trained_on": "real + own-genre velocity model predictions" if own_model else "real",
        "velocity_models": [{g: p.tag for g, p in predictors.items()} for predictors in (sets if own_model else sets[:1])],
        "velocity_models_role": "training data (all) and validation controls (first)" if own_model
        else "validation controls only",
        "split": {"seed": SPLIT_SEED, "train": len(train_pieces), "validation": len(val_pieces), "hold_out": hold_out},
        "seed": seed,
        "data_sha256": pieces_checksum(collection.pieces),
        "skipped_files": collection.skipped_files(),  # files of the folder it could not read (or without dynamics)
        LEARNED_KEY: learned_record(p.performance.sha256 for p in (*train_pieces, *val_pieces)),
        "quick": bool(quick),
        "history": history,
        "validation_piece_accuracy": max(scored) if scored else None,
        "validation_real_accuracy": piece_accuracy(model, judge, va_real),
        "validation_own_model_accuracy": {g: piece_accuracy(model, judge, v) for g, v in va_own.items() if v}
        or None,
    }
    if kind == "relations":
        shares = outcome_shares(model, validation, table)
        unrelated = {it.source for it in va_unrelated}
        meta.update(outcomes=list(OUTCOMES), attributes=list(ATTRIBUTES), hidden=hidden, segment_notes=segment_notes or None,
                    trained_on="real + own-genre velocity model predictions (their genre); shuffled and texture "
                               "alone of both genres (unrelated)",
                    validation_unrelated_accuracy=float(np.mean([v for s, v in shares.items() if s in unrelated])),
                    validation_outcome_accuracy=float(np.mean(list(shares.values()))), members=members)
        meta["validation_piece_accuracy"] = meta["validation_outcome_accuracy"]  # the judge's own, an ensemble's too
        if members > 1:
            meta["member_validation_outcome_accuracy"] = [max(h["val_outcome_accuracy"] for h in history if h["member"] == k)
                                                          for k in range(1, members + 1)]
    return model, meta


def _input_description(kind: str, segment_notes: int | None) -> str:
    """What a judge of ``kind`` reads, for its metadata."""
    if kind != "relations":
        return "per-piece standardised onset velocities" + (" -> segment statistics" if kind == "stats" else "")
    where = f"each stretch of about {segment_notes} notes" if segment_notes else "the piece"
    return f"onset velocities standardised over {where}, related to the notes' attributes (standardised over the piece)"


def train_command(kind: str, output, data=None, epochs: int | None = None, real_only: bool = False,
                  extra_models: list[tuple] | None = None, seed: int = 0, strategy: str = "auto",
                  checkpoint_dir=None, hold_out: str | None = None, hidden: int | None = None,
                  segment_notes: int | None = SEGMENT_NOTES, members: int | None = None) -> dict:
    """``musicstyle train dynamics``: train (:func:`train`) and save (on the chief only).

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        kind: ``cnn``, ``stats`` or ``relations``.
        output: the ``.keras`` file to write.
        data, epochs, seed, checkpoint_dir, hold_out, hidden, segment_notes: as for :func:`train`.
        members: as for :func:`train` (None: :data:`RELATIONS_MEMBERS` for the relations judge, else 1).
        real_only: the raw discriminator (no velocity-model re-predictions).
        extra_models: more (classical.keras, jazz.keras) pairs.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multiworker``
            (:func:`musicstyle.training.device.strategy`).

    Returns:
        ``saved`` (the file, None on a worker that is not the chief), ``train_pieces`` and ``validation_pieces``
        (real pieces), ``validation_piece_accuracy``, ``skipped`` (how many files could not be read) and
        ``skipped_files`` (the reason by file, if any).
    """
    from ..training import device
    from ..training.modelfile import model_file, model_path, save_model

    out = model_path(output)
    if data:
        input_folder(data)
    # each checked before training; a shipped model's bare name stands for its file
    extra = [{genre: str(model_file(path)) for genre, path in zip(GENRES, pair)} for pair in extra_models or []]
    model, meta = train(kind, data=data, epochs=epochs, own_model=not real_only, extra_models=extra, seed=seed,
                        strategy=device.strategy(strategy), checkpoint_dir=checkpoint_dir, hold_out=hold_out,
                        hidden=hidden, segment_notes=segment_notes,
                        members=members or (RELATIONS_MEMBERS if kind == "relations" else 1))
    saved = device.is_chief()
    if saved:
        save_model(model, out, meta)
    result = {"saved": str(out) if saved else None, "train_pieces": meta["split"]["train"],
              "validation_pieces": meta["split"]["validation"], "validation_piece_accuracy": meta["validation_piece_accuracy"]}
    return {**result, "skipped": len(meta["skipped_files"]),
            **({"skipped_files": meta["skipped_files"]} if meta["skipped_files"] else {})}
