"""Training the classifier through the one trainer, and the ``train classifier`` command.

Taught in ``notebooks/03_genre_classifier.ipynb``. Each epoch draws every window of every training
piece from a fresh random offset (and, for ``improved``, a random transposition); the loss is
binary cross-entropy; the weights of the epoch with the best validation piece accuracy (then segment
accuracy) are kept.
"""

from __future__ import annotations

import numpy as np

from ..core.roll import KEYS_ONLY, Layout, rollable
from ..data import SPLIT_SEED, no_pieces, select
from ..data.learned import LEARNED_KEY, learned_record
from ..errors import MusicstyleError
from .data import CLASSES, channels, epoch_windows, layout_of, tpd_pieces
from .evaluate import evaluate
from .model import build, metadata


def train(pieces, validation=(), arch: str = "improved", layout: Layout = KEYS_ONLY, length: int = 512,
          epochs: int = 20, batch_size: int = 32, augment: bool | None = None, learning_rate: float = 1e-3,
          minutes: float | None = None, seed: int = 0, verbose: int = 1, strategy=None, checkpoint_dir=None) -> tuple:
    """Train a classifier. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        pieces: training pieces (``.performance``, ``.genre``).
        validation: validation pieces; their piece accuracy (by vote), then segment accuracy, picks the
            epoch kept.
        arch: ``improved`` or ``paper``.
        layout: the input columns.
        length: steps per window.
        epochs, batch_size, learning_rate: the :class:`~musicstyle.training.trainer.Schedule`.
        augment: random transposition (default: for ``improved`` only).
        minutes: stop after the epoch that passes this time budget (None: run every epoch).
        seed: seeds the weights and every epoch's windows.
        verbose: 0 silent, 1 progress.
        strategy, checkpoint_dir: passed to :func:`musicstyle.training.trainer.train`.

    Returns:
        ``(model, metadata)``; the metadata holds ``history`` and ``train_pieces``.
    """
    import keras

    from ..training.trainer import Schedule
    from ..training.trainer import train as run

    augment = arch == "improved" if augment is None else augment
    chans = [channels(p.performance, layout) for p in pieces]
    labels = np.array([CLASSES.index(p.genre) for p in pieces], np.float32)
    meta = metadata(arch, layout, length)

    def score(model) -> dict:
        r = evaluate(model, meta, validation)
        piece, segment = r["piece_accuracy"], r["segment_accuracy"]
        # piece accuracy moves in steps of 1/pieces: segment accuracy breaks its ties
        return {"val_piece_accuracy": piece, "val_segment_accuracy": segment, "val_selection": piece + segment / 1000}

    trained = run(
        lambda: build(arch, length, layout.columns),
        lambda epoch, rng: epoch_windows(chans, labels, length, rng, layout, augment),
        keras.losses.binary_crossentropy,
        score=score if len(validation) else None,
        schedule=Schedule(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, halve_after=None,
                          patience=None, minutes=minutes, monitor="val_selection", mode="max"),
        strategy=strategy, checkpoint_dir=checkpoint_dir, seed=seed, label=f"classifier {arch}", verbose=verbose,
    )
    meta["history"] = trained.history
    meta["train_pieces"] = len(pieces)
    meta[LEARNED_KEY] = learned_record(p.performance.sha256 for p in (*pieces, *validation))
    return trained.model, meta


def train_command(data=None, arch: str = "improved", layout: str = "keys", epochs: int = 14, length: int = 512,
                  seed: int = 0, out="classifier.keras", strategy: str = "auto", checkpoint_dir=None,
                  minutes: float | None = None) -> dict:
    """``musicstyle train classifier``: train on the split, measure on its test side, save on the chief.

    Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        data: a folder with ``classical/`` and ``jazz/`` (default: TPD).
        arch: ``improved`` or ``paper``.
        layout: ``keys`` or ``paper`` (:func:`~musicstyle.classifier.data.layout_of`).
        epochs, length, seed, checkpoint_dir, minutes: as for :func:`train`.
        out: the .keras file to write.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multiworker``
            (:func:`musicstyle.training.device.strategy`).

    Returns:
        ``saved`` (the file, None on a worker that is not the chief), ``train_pieces``, ``validation_pieces``,
        ``measured_on`` (what the figures after it measure: the test side), the test figures, ``left_out`` (the
        reason by piece the layout cannot make matrices of, if any), ``skipped`` (how many files could not be read)
        and ``skipped_files`` (the reason by file, if any). Raises :class:`MusicstyleError` when the split leaves a genre no validation
        piece (:func:`~musicstyle.data.no_pieces`).
    """
    from ..training import device
    from ..training.modelfile import model_path, save_model

    model_path(out)  # a wrong suffix fails before any training
    distribute = device.strategy(strategy)  # before any other TensorFlow work
    _, collection = tpd_pieces(data)
    sides = {side: rollable(select(collection, side), layout_of(layout)) for side in ("train", "validation", "test")}
    train_pieces, validation, test = (kept for kept, _ in sides.values())
    for genre in CLASSES:  # the epoch kept is chosen on both genres' validation pieces, never on training pieces
        if not any(p.genre == genre for p in validation):
            left = [f"{path}: {why}" for path, why in sides["validation"][1].items() if path.startswith(f"{genre}/")]
            if not left:
                raise no_pieces(collection.root, "validation", genre)
            raise MusicstyleError(collection.root, f"no {genre} validation piece the layout can read ({'; '.join(left)})")
    left_out = {path: why for _, left in sides.values() for path, why in left.items()}
    model, meta = train(train_pieces, validation, arch=arch, layout=layout_of(layout), epochs=epochs, length=length,
                        seed=seed, strategy=distribute, checkpoint_dir=checkpoint_dir, minutes=minutes)
    meta["test"] = evaluate(model, meta, test)
    meta["split"] = f"piece-level split of {collection.root}, seed {SPLIT_SEED}"
    saved = device.is_chief()
    if saved:
        save_model(model, out, meta)
    result = {"saved": str(out) if saved else None, "train_pieces": len(train_pieces), "validation_pieces": len(validation),
              "measured_on": f"the {len(test)} test pieces of the split",
              **{k: v for k, v in meta["test"].items() if k != "confusion"}}
    skipped = collection.skipped_files()
    return {**result, **({"left_out": left_out} if left_out else {}), "skipped": len(skipped),
            **({"skipped_files": skipped} if skipped else {})}
