"""Training a genre's note-token LSTM through the one trainer (:mod:`musicstyle.training.trainer`).

Taught in ``notebooks/06_note_lstm.ipynb``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..data import no_pieces, sha256_file
from ..data.learned import LEARNED_KEY, learned_record
from ..errors import MusicstyleError
from .data import QUICK_FILES, epoch_windows, genre_folder, genre_tokens, split_files, windows
from .evaluate import evaluate
from .generate import GENRE_DECODING
from .judge import choose_timing
from .model import DEFAULTS, TUTORIAL, build
from .render import files_playing
from .transpose import transposition_table
from .vocabulary import Vocabulary, ngram_tables, trigram_table

#: Windows per epoch of the tutorial baseline (each with its one target).
TUTORIAL_WINDOWS = 4096


def train(
    genre: str,
    data: str | Path | None = None,
    rich: bool = False,
    arch: str = "lstm",
    epochs: int = 30,
    minutes: float | None = None,
    quick: bool | None = None,
    out: str | Path | None = None,
    seed: int = 0,
    verbose: int = 1,
    strategy=None,
    checkpoint_dir: str | Path | None = None,
    init: str | Path | None = None,
    learning_rate: float | None = None,
    hold_out: str | None = None,
    **settings,
) -> tuple:
    """Train the note LSTM of a genre on every training file of the piece-level split.

    Taught in ``notebooks/06_note_lstm.ipynb``; reproduces ``musicstyle/pretrained/tokens_{genre}.keras``
    (``musicstyle train tokens``). Each epoch moves every training piece by a random shift of up to
    ``transpose`` semitones and cuts it into windows from a random start; Adam at 3e-3 with
    gradients clipped to norm 1, the per-step cross-entropy of every window position (padding and
    ``<unk>`` targets weighted 0), the learning rate halved after 2 epochs without a better
    validation loss, early stopping after 4 (best weights kept), an optional time budget. The
    tutorial baseline (``arch="tutorial"``) trains on :data:`TUTORIAL_WINDOWS` random windows an
    epoch, each with its last target only, as the tutorial does.

    Args:
        genre, data: see :func:`musicstyle.tokens.genre_folder`.
        rich: rich tokens instead of the tutorial's.
        arch: ``lstm`` (:data:`musicstyle.tokens.DEFAULTS`) or ``tutorial``
            (:data:`musicstyle.tokens.TUTORIAL`, the settings it starts from).
        epochs: most epochs.
        minutes: time budget (None: none).
        quick: the tiny subset (default: quick mode).
        out: the ``.keras`` file written, with vocabulary and settings (only by the chief worker).
        seed: seeds the weights and the order of the windows.
        verbose: 0 silent, else a progress bar and one line per epoch.
        strategy: a ``tf.distribute`` strategy or its kind (``auto``, ``default``, ``mirrored``,
            ``multiworker``; default: auto).
        checkpoint_dir: folder of a resumable checkpoint (an interrupted run resumes from it).
        init: a ``.keras`` token model of the same vocabulary and settings to start from (training
            on: its ``train_seconds`` are added to this run's).
        learning_rate: Adam's starting rate (default 3e-3; the tutorial 1e-3); a lower one for a
            warm start (``init``) goes on from where the last run's noise left it.
        hold_out: a recording-source group (:data:`musicstyle.data.GROUPS`) left out of every side
            and measured on after training (``evaluation_held_out``: a leave-group-out figure).
        **settings: overrides of the arch's settings (None: the default).

    Returns:
        ``(model, metadata)``.
    """
    from ..settings import quick_mode, quiet_tensorflow

    quick = quick_mode() if quick is None else quick
    if arch not in ("lstm", "tutorial"):
        raise MusicstyleError(arch, "unknown arch (choose lstm or tutorial)")
    base = TUTORIAL if arch == "tutorial" else DEFAULTS
    cfg = {**base, **{k: v for k, v in settings.items() if v is not None}, "arch": arch}
    seqs = genre_tokens(genre, data, rich=rich, quick=quick, progress=verbose > 0, hold_out=hold_out)
    if not seqs["train"]:
        raise MusicstyleError(genre, "no training files could be tokenized")
    if not seqs["validation"]:  # the epoch kept is chosen on validation files, never on training files
        raise no_pieces(genre_folder(genre, data), "validation", genre, hold_out)
    vocab = Vocabulary.build(seqs["train"], cfg["min_count"])
    enc = {k: [vocab.encode(s) for s in v] for k, v in seqs.items()}
    rate = learning_rate or (3e-3 if arch == "lstm" else 1e-3)
    shifts = range(-cfg["transpose"], cfg["transpose"] + 1)
    table = transposition_table(vocab, shifts) if cfg["transpose"] else None
    last_only = TUTORIAL_WINDOWS if arch == "tutorial" else 0
    held = enc["validation"]
    if last_only:
        validation = epoch_windows(held, cfg["window"], np.random.default_rng(seed), last_only=1024)
    else:
        validation = windows(held, cfg["window"])
    quiet_tensorflow()
    import keras

    from ..training import device
    from ..training.trainer import Schedule
    from ..training.trainer import train as run_trainer

    start, before = None, 0.0
    if init is not None:
        from .model import load

        start, init_meta, _ = load(init)
        if init_meta["vocabulary"] != vocab.tokens or init_meta["settings"] != cfg:
            raise MusicstyleError(init, "another vocabulary or other settings than this run's: cannot start from it")
        before = float(init_meta.get("train_seconds", 0.0))

    def make():
        model = build(cfg, len(vocab))
        if start is not None:
            model.set_weights(start.get_weights())
        return model

    t0 = time.time()
    trained = run_trainer(
        make,
        lambda epoch, rng: epoch_windows(enc["train"], cfg["window"], rng, table, last_only),
        keras.losses.sparse_categorical_crossentropy,
        validation=validation,
        schedule=Schedule(epochs=epochs, batch_size=cfg["batch"], learning_rate=rate,
                          clipnorm=1.0, halve_after=2, patience=4, minutes=minutes),
        strategy=device.strategy(strategy) if isinstance(strategy, str) else strategy,
        checkpoint_dir=checkpoint_dir,
        seed=seed,
        label=f"tokens {genre} ({arch})",
        verbose=int(verbose > 0),
    )
    model = trained.model
    meta = {
        "kind": "tokens",
        "genre": genre,
        "rich": bool(rich),
        "vocabulary": vocab.tokens,
        "settings": cfg,
        "files": {k: len(v) for k, v in seqs.items()},
        "learning_rate": rate,
        "hold_out": hold_out,
        "input_tokens": int(sum(len(s) for s in seqs["train"])),
        "epochs": len(trained.history),
        "stopped_by": trained.stopped_by,
        "train_seconds": round(before + time.time() - t0, 1),
        "val_loss": float(trained.best),
        "history": trained.history,
        "seed": seed,
        "quick": bool(quick),
    }
    held_out = seqs["test"] or seqs["validation"] or seqs["train"]
    meta["seed_tokens"] = held_out[0][: cfg["window"]]  # compose starts from a held-out piece
    counts, follow = ngram_tables(enc["train"], len(vocab))
    meta["unigram_counts"] = counts.tolist()
    meta["bigram_next"] = follow.tolist()
    contexts, nexts = trigram_table(enc["train"], len(vocab))
    meta["trigram_contexts"], meta["trigram_next"] = contexts.tolist(), nexts.tolist()
    sides = split_files(genre, data, QUICK_FILES if quick else None, hold_out)
    train_files = sides["train"]
    meta["playing"] = files_playing(train_files, vocab.tokens, seed)  # how compose plays its tokens
    started = (init_meta.get(LEARNED_KEY) or []) if init is not None else []  # what the --init model learned too
    meta[LEARNED_KEY] = learned_record([*(sha256_file(f) for f in (*train_files, *sides["validation"])), *started])
    if genre in ("classical", "jazz") and seqs["validation"]:  # the genres the classifier can judge
        chosen = choose_timing(genre, meta["playing"], seqs["validation"])
        meta["playing"]["timing"] = chosen["timing"]
        meta["timing_chosen_on_validation"] = chosen
    if genre in GENRE_DECODING:
        meta["decoding"] = dict(GENRE_DECODING[genre])
    if seqs["test"]:
        meta["evaluation"] = evaluate(model, meta, seqs["test"])  # held-out test pieces
    if seqs.get("held-out"):
        meta["evaluation_held_out"] = evaluate(model, meta, seqs["held-out"])  # the group never seen
    if out is not None and device.is_chief():
        from ..training.modelfile import save_model

        save_model(model, out, meta)
    return model, meta
