"""Training one genre's chords LSTM through the one trainer, and the ``train chords`` command.

Taught in ``notebooks/04_lstm_generation.ipynb``. Windows start at a random offset each epoch; two
outputs (next held, next onset) with binary cross-entropy, the onset loss weighted by
``onset_weight``; Adam with gradients clipped to norm 1; the learning rate halves after
``patience`` epochs without a better validation BCE; the weights of the best validation epoch are
kept.
"""

from __future__ import annotations

import numpy as np

from ..core.roll import PAPER, Layout, rollable
from ..data.learned import LEARNED_KEY, learned_record
from ..errors import MusicstyleError
from .baselines import fit_baselines
from .data import epoch_pairs, matrix, prepare
from .evaluate import evaluate
from .model import KIND, build, metadata, shipped_name, start_at_copy, warm_start


def train(pieces, vectors, genre: str, validation=(), validation_vectors=(), units: int = 128, length: int = 128,
          batch_size: int = 64, epochs: int = 10, learning_rate: float = 2e-3, onset_weight: float = 0.5,
          minutes: float | None = None, layout: Layout = PAPER, seed: int = 0, verbose: int = 1, on_epoch_end=None,
          init_model=None, windows_per_epoch: int | None = None, patience: int = 2, strategy=None,
          checkpoint_dir=None) -> tuple:
    """Train one genre's LSTM. Taught in ``notebooks/04_lstm_generation.ipynb``.

    The untrained model starts as the copy baseline (:func:`~musicstyle.chords.model.start_at_copy`).

    Args:
        pieces, vectors: training pieces and their style vectors.
        genre: the genre (recorded in the metadata).
        validation, validation_vectors: validation pieces and their style vectors (``val_bce``
            picks the epoch kept and drives the halving).
        units: LSTM units.
        length: steps per training window.
        batch_size, epochs, learning_rate: the :class:`~musicstyle.training.trainer.Schedule`.
        onset_weight: weight of the onset output's loss.
        minutes: stop after the epoch that passes this budget (None: none).
        layout: the matrix columns.
        seed: seeds the weights and every epoch's windows.
        verbose: 0 silent, 1 progress.
        on_epoch_end: ``on_epoch_end(epoch, row, model)`` after each epoch (for example to save).
        init_model: a model whose layers of the same name and shape start this one (a warm start,
            for example from a run with all style vectors zero); the style's dense layers then start
            at a tenth of their weights and grow as the style pays.
        windows_per_epoch: windows drawn at random each epoch (default: all).
        patience: stale epochs before the learning rate halves.
        strategy, checkpoint_dir: passed to :func:`musicstyle.training.trainer.train`.

    Returns:
        ``(model, metadata)``; the metadata holds ``history`` and ``train_pieces``.
    """
    import keras

    from ..training.trainer import Schedule
    from ..training.trainer import train as run

    mats, vectors = prepare(pieces, vectors, layout)
    cols = layout.columns
    baselines = fit_baselines(mats, cols)
    steps_per_second = sum(len(m) for m in mats) / max(sum(p.performance.duration_s for p in pieces), 1e-9)
    velocity = int(np.median(np.concatenate([p.performance.notes["velocity"] for p in pieces])))
    onset_rate = float(np.mean([m[:, cols:].mean() for m in mats]))
    meta = metadata(genre, units, layout, baselines, float(steps_per_second), velocity, length)
    val_mats = [matrix(p.performance, layout) for p in validation]

    def make():
        model = build(units, cols, vectors.shape[1], vectors.mean(0), vectors.var(0))
        start_at_copy(model, baselines, onset_rate)
        if init_model is not None:
            meta["warm_start_layers"] = warm_start(model, init_model)
            for name in ("init_h", "init_c"):
                kernel, bias = model.get_layer(name).get_weights()
                model.get_layer(name).set_weights([kernel * 0.1, bias])
        return model

    def score(model) -> dict:
        r = evaluate(model, meta, val_mats, validation_vectors, length=length)
        return {"val_bce": r["bce"], "val_ratio": r["ratio"]}

    bce = keras.losses.binary_crossentropy
    trained = run(
        make, lambda epoch, rng: epoch_pairs(mats, vectors, length, rng, windows_per_epoch), [bce, bce],
        score=score if len(validation) else None, loss_weights=[1.0, onset_weight],
        schedule=Schedule(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, clipnorm=1.0,
                          halve_after=patience, patience=None, minutes=minutes, monitor="val_bce", mode="min"),
        strategy=strategy, checkpoint_dir=checkpoint_dir, seed=seed, label=f"chords {genre}", verbose=verbose,
        on_epoch_end=on_epoch_end,
    )
    meta["history"] = trained.history
    meta["train_pieces"] = len(pieces)
    meta[LEARNED_KEY] = learned_record(p.performance.sha256 for p in (*pieces, *validation))
    return trained.model, meta


def train_command(genre: str, data=None, units: int = 128, length: int = 128, batch_size: int = 64,
                  learning_rate: float = 2e-3, epochs: int = 100, minutes: float | None = 30.0,
                  unconditioned: bool = False, init=None, seed: int = 0, out=None, strategy: str = "auto",
                  checkpoint_dir=None) -> dict:
    """``musicstyle train chords``: one genre's LSTM on the split's train side, saved on the chief.

    Taught in ``notebooks/04_lstm_generation.ipynb``. Style vectors come from the shipped classifier.

    Args:
        genre: ``classical`` or ``jazz``.
        data: a folder with ``classical/`` and ``jazz/`` (default: TPD).
        units, length, batch_size, learning_rate, epochs, minutes, seed, checkpoint_dir: as for :func:`train`.
        unconditioned: every style vector zero (a warm start for ``init``).
        init: a chords .keras file whose weights start this model.
        out: the .keras file to write (default: ``chords_GENRE.keras``).
        strategy: ``auto``, ``default``, ``mirrored`` or ``multiworker``
            (:func:`musicstyle.training.device.strategy`).

    Returns:
        ``saved`` (the file, None on a worker that is not the chief), ``train_pieces``, ``validation_pieces``,
        ``epochs_run``, the last epoch's figures (``val_*``: on the validation pieces), ``left_out``
        (the reason by piece the layouts cannot make matrices of, if any), ``skipped`` (how many files could not be
        read) and ``skipped_files`` (the reason by file, if any). Raises :class:`MusicstyleError` when the split leaves the genre no training or
        no validation piece (:func:`musicstyle.data.no_pieces`).
    """
    from .. import classifier
    from ..data import load_dataset, no_pieces, select
    from ..training import device
    from ..training.modelfile import load_model, model_path, save_model

    out = model_path(out or shipped_name(genre), inputs=(init,))
    distribute = device.strategy(strategy)  # before any other TensorFlow work
    init_model, init_meta = load_model(init, KIND) if init else (None, {})
    if init and init_meta.get("genre") != genre:  # refused before the data is read
        raise MusicstyleError(init, f"holds a {init_meta.get('genre')} chords model, not {genre}")
    collection = load_dataset("tpd", data, quick=False, progress=False)
    style, style_meta = (None, None) if unconditioned else classifier.load()
    layouts = (PAPER,) if unconditioned else (PAPER, Layout.from_dict(style_meta["layout"]))
    (tr, left_tr), (va, left_va) = (rollable(select(collection, side, genre), *layouts) for side in ("train", "validation"))
    if not tr:
        raise MusicstyleError(collection.root, f"no {genre} pieces to train on")
    if not va:  # the epoch kept is chosen on validation pieces, never on training pieces
        if not left_va:
            raise no_pieces(collection.root, "validation", genre)
        left = "; ".join(f"{path}: {why}" for path, why in left_va.items())
        raise MusicstyleError(collection.root, f"no {genre} validation piece the layouts can read ({left})")
    if unconditioned:
        vt, vv = np.zeros((len(tr), 50), np.float32), np.zeros((len(va), 50), np.float32)
    else:
        vt = np.stack([classifier.style_vector(p.performance, style, style_meta) for p in tr])
        vv = np.stack([classifier.style_vector(p.performance, style, style_meta) for p in va])
    model, meta = train(tr, vt, genre, va, vv, units=units, length=length, batch_size=batch_size, epochs=epochs,
                        learning_rate=learning_rate, minutes=minutes, seed=seed, init_model=init_model, strategy=distribute,
                        checkpoint_dir=checkpoint_dir)
    meta[LEARNED_KEY] = learned_record([*meta[LEARNED_KEY], *(init_meta.get(LEARNED_KEY) or [])])  # and the --init model's
    meta.update(conditioned=not unconditioned, warm_start=init)
    saved = device.is_chief()
    if saved:
        save_model(model, out, meta)
    result = {"saved": str(out) if saved else None, "train_pieces": len(tr), "validation_pieces": len(va),
              "epochs_run": len(meta["history"]), **meta["history"][-1]}
    skipped = collection.skipped_files()
    return {**result, **({"left_out": {**left_tr, **left_va}} if left_tr or left_va else {}), "skipped": len(skipped),
            **({"skipped_files": skipped} if skipped else {})}
