"""Training a genre's velocity model through the one trainer (:mod:`musicstyle.training.trainer`).

Taught in ``notebooks/02_velocity_cnn.ipynb``. Every epoch draws fresh random windows (moved by a
random transposition for the improved model); every second epoch in a row without a better
validation loss goes back to the best weights and halves the learning rate; several members
(seeds) may be trained and averaged into one model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import SPLIT_SEED, no_pieces, pieces_checksum, select
from ..data.learned import LEARNED_KEY, learned_record
from ..errors import MusicstyleError
from ..core.notes import NOTE_FEATURES
from ..core.roll import PAPER
from ..training.ensemble import average_model, clear_members, member_folder, train_member
from ..training.modelfile import model_path
from .data import Prepared, pieces_of
from .evaluate import add_test_metrics, baselines, onset_predictions, stored_figures
from .loudness import fit_loudness
from .model import NOTE_ARCHS, build_model, check_genre_arch, masked_mse, to_numpy
from .shipped import KIND, load_file, save
from .texture import fit_spread, fit_texture

#: Training window: steps for the paper model (1,024 steps is about a minute at 120 qpm), notes for
#: the improved one.
WINDOW = 1024
#: A trained member is kept in the average while its best validation loss is within this factor of
#: the best member's (a seed whose run went wrong is left out).
KEEP_WITHIN = 1.1
HISTORY_KEYS = ("member", "loss", "val_loss", "epoch_s", "learning_rate")


def _windows(data: Prepared, notes: bool, window: int, transpose: int, rng=None, count=None):
    """Training (``rng``) or validation windows; training note windows move by up to +-``transpose`` semitones."""
    if not notes:
        return data.windows(window, rng, count)
    (x, piece), y = data.note_windows(window, rng, count)
    if rng is not None and transpose:
        shift = rng.integers(-transpose, transpose + 1, size=(len(x), 1)).astype(np.float32)
        x[..., 0] += np.where(x[..., 0] > 0, shift, 0)
    return (x, piece), y


def _copy(model):
    import keras

    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def train(genre: str, arch: str = "improved", data=None, epochs: int = 40, window: int = WINDOW, batch: int = 8,
          patience: int = 6, strategy=None, fixed: bool = True, collection=None, seed: int = 0, verbose: int = 2,
          learning_rate: float = 1e-3, windows_per_epoch: int | None = None, init=None, channels: int = 48,
          transpose: int = 3, members: int = 1, loudness_penalty: float | None = None, checkpoint_dir=None,
          hold_out: str | None = None, loudness_inputs: str = "played", minutes: float | None = None):
    """Train one genre's model on the piece-level train split with early stopping on validation.

    Reproduced by ``musicstyle train velocity``; taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        genre: ``classical`` or ``jazz``.
        arch: ``improved``, ``paper`` or ``stylenet``.
        data: a dataset folder (default: TPD found as usual).
        epochs: most epochs per member.
        window: notes (improved) or steps (paper) per training window.
        batch: windows per batch.
        patience: epochs in a row without a better validation loss before a member stops.
        strategy: a ``tf.distribute`` strategy or its kind (``auto``, ``default``, ``mirrored``,
            ``multiworker``; default: :func:`musicstyle.training.device.strategy`).
        fixed: the paper model's fixed start (see :func:`musicstyle.velocity.model.paper_model`).
        collection: already loaded pieces (instead of ``data``).
        seed: seed of the first member (the others: ``seed + 1``, ...).
        verbose: 0 silent, else the trainer's progress.
        learning_rate: Adam's starting learning rate.
        windows_per_epoch: fresh random windows drawn per epoch (None: as many as fit the data).
        init: a model file of the same genre and architecture to continue training from.
        channels: the improved model's channels.
        transpose: move each training window of the improved model by a random whole number of
            semitones up to this many, either way.
        members: networks trained; those whose best validation loss is within :data:`KEEP_WITHIN`
            of the best one's are averaged into one model.
        loudness_penalty: the ridge penalty of the loudness estimate (default: by leave-one-out).
        checkpoint_dir: folder of resumable checkpoints (one subfolder per member).
        hold_out: a recording-source group (:data:`musicstyle.data.GROUPS`) left out of every
            side, for a leave-group-out figure on ``select(..., "held-out", hold_out=...)``.
        loudness_inputs: what the loudness estimate reads: ``played`` (default: not the
            :data:`musicstyle.velocity.data.SETUP_FEATURES`) or ``all`` (how both shipped note models
            were trained, before ``musicstyle train loudness`` refitted them on ``played``).
        minutes: time budget of each member (stops after the epoch that passes it; None: none).

    Returns:
        ``(model, meta, history)``; ``history`` holds lists ``member``, ``loss``, ``val_loss``,
        ``epoch_s`` and ``learning_rate``, one entry per epoch run (from the trainer's rows). Raises
        :class:`MusicstyleError` when the split leaves the genre no training or no validation piece
        (:func:`musicstyle.data.no_pieces`), or none with notes in the key range.
    """
    from .. import __version__
    from ..training import device
    from ..training.trainer import Schedule

    check_genre_arch(genre, arch)
    collection = pieces_of(data, collection, progress=verbose > 0)
    tr = select(collection, "train", genre, seed=SPLIT_SEED, hold_out=hold_out)
    va = select(collection, "validation", genre, seed=SPLIT_SEED, hold_out=hold_out)
    for side, pieces in (("train", tr), ("validation", va)):  # never validated on its training pieces
        if not pieces:
            raise no_pieces(collection.root, side, genre, hold_out)
    train_data, val_data = Prepared(tr), Prepared(va)
    for side, prepared in (("train", train_data), ("validation", val_data)):
        if not len(prepared):
            raise MusicstyleError(collection.root, f"no {genre} piece of the {side} split has notes in the key range")
    base = baselines(train_data)
    strategy = device.strategy(strategy) if isinstance(strategy, str) else strategy or device.strategy()
    notes = arch in NOTE_ARCHS
    init_model = init_meta = None
    if init is not None:
        init_model, init_meta = load_file(init)
        if (init_meta.get("genre"), init_meta.get("arch")) != (genre, arch):
            raise MusicstyleError(init, f"holds a {init_meta.get('genre')} {init_meta.get('arch')} model, not {genre} {arch}")
        members = 1
    penalties = {} if loudness_penalty is None else {"lambdas": (float(loudness_penalty),)}
    loud = fit_loudness(train_data, val_data, inputs=loudness_inputs, **penalties) if notes and init is None else None
    note_mean, note_var = train_data.note_moments()
    validation = _windows(val_data, notes, window, transpose)
    schedule = Schedule(epochs=epochs, batch_size=batch, learning_rate=learning_rate, halve_after=2, revert_on_halve=True,
                        patience=patience, minutes=minutes)

    def draw(epoch, rng):
        return _windows(train_data, notes, window, transpose, rng, windows_per_epoch)

    history = {k: [] for k in HISTORY_KEYS}
    trained, bests, mixed = [], [], False
    for member in range(members):
        name = f"velocity_{arch}" + (f"_{member + 1}" if members > 1 else "")

        def build(name=name):
            if init_model is not None:
                return _copy(init_model)
            return build_model(arch, PAPER, base["train_mean"], fixed=fixed, note_mean=note_mean, note_var=note_var,
                               loudness=loud, channels=channels, name=name)

        label = f"{genre} {arch}" + (f" member {member + 1}/{members}" if members > 1 else "")
        model, best, rows, mixed = train_member(build, draw, masked_mse, validation, schedule=schedule, strategy=strategy,
                                                checkpoint_dir=member_folder(checkpoint_dir, member + 1),
                                                seed=seed + member, label=label, verbose=int(bool(verbose)))
        for row in rows:
            for key, value in zip(HISTORY_KEYS, (member, row["loss"], row["val_loss"], row["seconds"], row["learning_rate"])):
                history[key].append(value)
        trained.append(model)
        bests.append(best)
    # a member whose training went wrong (validation loss far above the best member's) is left out
    kept = [i for i, b in enumerate(bests) if b <= KEEP_WITHIN * min(bests)]
    model, best = trained[kept[0]], bests[kept[0]]
    if len(kept) > 1:
        with strategy.scope():
            model = average_model([trained[i] for i in kept], name=f"velocity_{arch}")
        vx, vy = validation
        vx = [np.asarray(v, np.float32) for v in vx] if notes else np.asarray(vx, np.float32)
        best = float(np.mean(np.concatenate([
            to_numpy(masked_mse(vy[i : i + batch], model([v[i : i + batch] for v in vx] if notes else vx[i : i + batch], training=False)))
            for i in range(0, len(vy), batch)])))
    predictions = onset_predictions(model, val_data)
    texture = fit_texture(model, val_data, predictions)
    spread = fit_spread(model, val_data, texture, predictions=predictions) if notes else None
    meta = {
        "kind": KIND,
        "genre": genre,
        "arch": arch,
        "fixed_init": bool(fixed) if arch == "paper" else None,
        "channels": (channels if init is None else init_meta.get("channels", 48)) if notes else None,
        "learning_rate": learning_rate,
        "continued_from": None if init is None else {"file": Path(init).name, "epochs_run": init_meta.get("epochs_run"),
                                                     "learning_rate": init_meta.get("learning_rate", 1e-3)},
        "layout": PAPER.to_dict(),
        "input": "note features (notes, len(NOTE_FEATURES)) + piece input" if notes else "onset+held (steps, 2*columns)",
        "note_features": list(NOTE_FEATURES) if notes else None,
        "window": window,
        "window_unit": "notes" if notes else "steps",
        "batch": batch,
        "split_seed": SPLIT_SEED,
        "train_pieces": len(train_data),
        "validation_pieces": len(val_data),
        "left_out": {**train_data.left_out, **val_data.left_out},
        "skipped_files": collection.skipped_files(),  # files of the folder it could not read
        "data_checksum": pieces_checksum(tr + va),
        LEARNED_KEY: learned_record([*(p.performance.sha256 for p in (*tr, *va)),
                                     *((init_meta or {}).get(LEARNED_KEY) or [])]),  # and what an --init model learned
        "data_root": str(collection.root),
        "members": len(kept),
        "members_trained": members,
        "members_kept": [i + 1 for i in kept],
        "member_val_rmse": [round(float(b) ** 0.5, 4) for b in bests],
        "transpose": transpose if notes else None,
        "epochs_run": len(history["loss"]),
        "windows_per_epoch": windows_per_epoch,
        "best_val_rmse": round(float(best) ** 0.5, 4),
        "history": {k: [round(float(v), 6) for v in vals] for k, vals in history.items()},
        "mixed_precision": mixed,
        "replicas": int(getattr(strategy, "num_replicas_in_sync", 1)),
        "version": __version__,
        "texture": texture,
        "spread": spread,
        "hold_out": hold_out,
        "minutes": minutes,
        "texture_fitted_on": "validation pieces",
        "loudness": (init_meta.get("loudness") if init is not None else
                     {k: loud[k] for k in ("lambda", "inputs", "loo_piece_rmse", "val_piece_rmse", "val_piece_rmse_mean")} if loud else None),
        **base,
    }
    clear_members(checkpoint_dir, members)  # the run is complete: its members' checkpoints are no longer needed
    return model, meta, history


def train_to_file(output, genre: str, arch: str = "improved", data=None, members: int | None = None, **options) -> dict:
    """Train (:func:`train`), measure on the test pieces and save the model: ``musicstyle train velocity``.

    Only the chief worker (:func:`musicstyle.training.device.is_chief`) measures and writes.
    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        output: the ``.keras`` file to write (checked before training).
        genre: ``classical`` or ``jazz``.
        arch: ``improved``, ``paper`` or ``stylenet``.
        data: the dataset folder (default TPD as found).
        members: networks averaged (None: 3 for improved; 1 for paper and stylenet).
        **options: other keyword arguments of :func:`train`.

    Returns:
        ``saved`` (the file written, None on a worker that is not the chief), ``epochs_run``, ``best_val_rmse``, the
        ``test_*`` figures (and ``held_out_*`` with ``hold_out``), ``left_out`` (the reason by piece
        with nothing to learn from, if any), ``skipped`` (how many files could not be read) and ``skipped_files``
        (the reason by file, if any).
    """
    from ..training.device import is_chief

    out = model_path(output, inputs=(options.get("init"),))
    members = members or (3 if arch == "improved" else 1)
    model, meta, _ = train(genre, arch, data=data, members=members, **options)
    if not is_chief():
        return {"saved": None, "epochs_run": meta["epochs_run"], "best_val_rmse": meta["best_val_rmse"],
                "skipped": len(meta["skipped_files"])}
    add_test_metrics(model, meta, data=data, hold_out=options.get("hold_out"))
    save(model, meta, out)
    result = {"saved": str(out), "epochs_run": meta["epochs_run"], "best_val_rmse": meta["best_val_rmse"], **stored_figures(meta)}
    extra = {k: meta[k] for k in ("left_out", "skipped_files") if meta[k]}
    return {**result, "skipped": len(meta["skipped_files"]), **extra}
