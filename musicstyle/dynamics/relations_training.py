"""Training the relations judge through the one trainer: its examples of unrelated velocities, its
table of stretches' relation features, and the accuracy that picks its epoch.

Taught in ``notebooks/02b_did_the_style_move.ipynb`` (``musicstyle train dynamics --kind relations``).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..training.ensemble import average_model, clear_members, member_folder, train_member
from .data import GENRES, OUTCOMES, UNRELATED, Item, dynamics_of, shuffled, texture_alone
from .model import RELATIONS_HIDDEN, build_relations, relation_segments_of, segment_log_probabilities
from .relations import SEGMENT_NOTES


def unrelated_items(pieces, metas: dict, seed: int = 0) -> list[Item]:
    """Velocities that do not fit their notes: each piece's own shuffled, and every genre's texture alone.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``: the ``relations`` judge's third outcome.

    Args:
        pieces: :class:`musicstyle.data.Piece` objects.
        metas: genre -> a velocity model's metadata (its ``train_mean`` and ``texture``).
        seed: seed of the shuffles (the texture draws are seeded as transfer draws them).

    Returns:
        Per piece, one shuffled item and one texture-alone item per genre, labelled :data:`UNRELATED`.
    """
    items = []
    for i, p in enumerate(pieces):
        d = dynamics_of(p.performance)
        items.append(Item(shuffled(d, seed + i), UNRELATED, "shuffled", p.name))
        for g in GENRES:
            if metas.get(g, {}).get("texture"):
                items.append(Item(d.with_velocity(texture_alone(metas[g], p.performance)), UNRELATED, "texture alone", p.name))
    return items


def outcome_shares(model, items: list[Item], table: tuple | None = None,
                   notes: int | None = SEGMENT_NOTES) -> dict[str, float]:
    """Per source of ``items`` (real, own model, shuffled, ...), the share given their outcome.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        model: a ``relations`` judge.
        items: the items.
        table: their :func:`relation_table` (default: computed).
        notes: notes per segment the judge reads (None or 0: whole pieces).

    Returns:
        Source -> share, 0-1, in the order the sources first appear.
    """
    if not items:
        return {}
    x, index = relation_table(items, notes) if table is None else table
    logits = np.asarray(model(x, training=False), np.float64)
    per_item = np.split(logits, np.cumsum(np.bincount(index, minlength=len(items)))[:-1])
    verdict = np.array([segment_log_probabilities(rows).argmax() for rows in per_item])
    hit = verdict == np.array([it.outcome for it in items])
    sources = [it.source for it in items]
    return {s: float(hit[np.equal(sources, s)].mean()) for s in dict.fromkeys(sources)}


def outcome_accuracy(model, items: list[Item], table: tuple | None = None, notes: int | None = SEGMENT_NOTES) -> float:
    """Mean over sources of :func:`outcome_shares`: the balanced share, 0-1 (NaN without items).

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.
    """
    shares = outcome_shares(model, items, table, notes)
    return float(np.mean(list(shares.values()))) if shares else float("nan")


def relation_table(items: list[Item], notes: int | None = SEGMENT_NOTES) -> tuple[np.ndarray, np.ndarray]:
    """Every item's segments' relation features (:func:`musicstyle.dynamics.relation_segments_of`).

    Args:
        items: the items.
        notes: notes per segment (None or 0: one row per item).

    Returns:
        ``(rows, item)``: float32 ``(segments, len(RELATIONS))`` and the index of each row's item.
    """
    rows = [relation_segments_of(it.dynamics, notes) for it in items]
    return np.concatenate(rows).astype(np.float32), np.repeat(np.arange(len(items)), [len(r) for r in rows])


def train_relations(train: list[Item], validation: list[Item], epochs: int = 150, seed: int = 0, verbose: int = 1,
                    hidden: int = RELATIONS_HIDDEN, batch_size: int = 256, strategy=None, checkpoint_dir=None,
                    notes: int | None = SEGMENT_NOTES, validation_table: tuple | None = None, members: int = 1):
    """Train the relations judge (three outcomes) on the relation features of pieces' segments.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. Each outcome weighs the same in the loss,
    and each item the same within its outcome (its segments share its weight); the epoch kept has
    the best :func:`outcome_accuracy` on ``validation``. Several members (seeds ``seed``,
    ``seed + 1``, ...) are trained on the same table and averaged as log-probabilities in one model.

    Args:
        train: training items (genre and :data:`UNRELATED` labels).
        validation: items that pick the epoch.
        epochs, seed, verbose: as for :func:`musicstyle.training.trainer.train`.
        hidden: hidden ReLU units (see :func:`musicstyle.dynamics.build_relations`).
        batch_size: segments per step.
        strategy, checkpoint_dir: passed to the trainer (each member resumes from ``member-K`` below it).
        notes: notes per segment (None or 0: whole pieces, one row each).
        validation_table: ``validation``'s :func:`relation_table` (default: computed).
        members: networks trained and averaged (1: the network itself).

    Returns:
        ``(model, history)``; with several members each history row has its ``member`` (1, 2, ...).
    """
    import functools

    import keras

    from ..training.trainer import Schedule
    from ..training.trainer import train as run

    x, index = relation_table(train, notes)
    vx = relation_table(validation, notes) if validation_table is None else validation_table
    outcome = np.array([it.outcome for it in train])
    counts = np.bincount(outcome, minlength=len(OUTCOMES)).astype(np.float64)
    per_item = len(outcome) / (len(OUTCOMES) * np.maximum(counts, 1))[outcome] / np.bincount(index, minlength=len(train))
    w = per_item[index]
    w = (w * len(w) / w.sum()).astype(np.float32)
    y = outcome[index][:, None].astype(np.int32)
    loss = functools.partial(keras.losses.sparse_categorical_crossentropy, from_logits=True)
    schedule = Schedule(epochs=epochs, batch_size=batch_size, learning_rate=3e-3, halve_after=None, patience=None,
                        monitor="val_outcome_accuracy", mode="max")

    def score(model) -> dict:
        return {"val_outcome_accuracy": outcome_accuracy(model, validation, vx)}

    if members == 1:
        trained = run(lambda: build_relations(x.mean(0), x.var(0), hidden=hidden), lambda epoch, rng: (x, y, w), loss,
                      schedule=schedule, strategy=strategy, checkpoint_dir=checkpoint_dir, seed=seed,
                      label="dynamics relations", verbose=verbose, score=score)
        return trained.model, trained.history
    models, history = [], []
    for k in range(1, members + 1):
        model, _, rows, _ = train_member(
            lambda name=f"dynamics_relations_{k}": build_relations(x.mean(0), x.var(0), hidden=hidden, name=name),
            lambda epoch, rng: (x, y, w), loss, score=score, schedule=schedule, strategy=strategy,
            checkpoint_dir=member_folder(checkpoint_dir, k), seed=seed + k - 1,
            label=f"dynamics relations member {k}/{members}", verbose=verbose)
        models.append(model)
        history += [{"member": k, **row} for row in rows]
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = average_model(models, name="dynamics_relations", each="log_softmax")
    clear_members(checkpoint_dir, members)
    return model, history
