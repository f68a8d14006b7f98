"""Note-token LSTM (music21 tokens): data, model, training, evaluation and generation.

Taught in ``notebooks/06_note_lstm.ipynb``. Tokenization lives in :mod:`musicstyle.tokenize`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import find, rank, split_names
from .errors import MusicstyleError

#: Genre -> (dataset, subfolder).
GENRE_SOURCES = {"classical": ("tpd", "classical"), "pop": ("pop909", ""), "jazz": ("tpd", "jazz")}
#: Files per split used for training (music21 needs seconds per file); quick mode uses QUICK_FILES.
#: music21 parses classical and POP909 files slowest (seconds each): fewer of them.
TRAIN_FILES = {"train": 60, "validation": 6, "test": 15}
GENRE_FILES = {g: {"train": 40, "validation": 5, "test": 10} for g in ("classical", "pop")}
GENRE_FILES["jazz"] = {"train": 120, "validation": 6, "test": 15}  # short pieces: more of them
QUICK_FILES = {"train": 2, "validation": 1, "test": 0}  # three small jazz files: seconds of music21


def genre_folder(genre: str, data: str | Path | None = None) -> Path:
    """Folder holding ``genre``'s MIDI files (TPD classical/jazz, POP909 for pop)."""
    if genre not in GENRE_SOURCES:
        raise MusicstyleError(genre, f"unknown genre (choose from {', '.join(GENRE_SOURCES)})")
    name, sub = GENRE_SOURCES[genre]
    if data is not None:
        root = Path(data)
        if not root.is_dir():
            raise MusicstyleError(root, "not a folder")
        for cand in (root / name / sub, root / sub, root):
            if cand.is_dir() and any(cand.glob("*.mid")):
                return cand
        raise MusicstyleError(root, f"no {genre} MIDI files found")
    root = find(name)
    if root is None:
        raise MusicstyleError(name, "dataset not found (set MUSICSTYLE_DATA or pass --data)")
    return root / sub if sub else root


def split_files(genre: str, data: str | Path | None = None, counts: dict | None = None) -> dict[str, list[Path]]:
    """Piece-level split (seed 0, as :func:`musicstyle.datasets.split_names`) of a genre's files,
    each side cut to its first ``counts[side]`` files by hash rank (a fixed subset).

    Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    folder = genre_folder(genre, data)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi") and p.is_file())
    names = [p.name for p in files]
    parts = split_names(names, [genre] * len(names), seed=0)
    by_name = {p.name: p for p in files}
    out = {}
    for side, chosen in parts.items():
        chosen = sorted(chosen, key=rank)
        if counts is not None and counts.get(side) is not None:
            chosen = chosen[: counts[side]]
        out[side] = [by_name[n] for n in chosen]
    return out


# ---------------------------------------------------------------- data


def genre_tokens(
    genre: str, data: str | Path | None = None, rich: bool = False, quick: bool | None = None, progress: bool = True
) -> dict[str, list[list[str]]]:
    """Token lists of the fixed training subset of a genre, per side (train/validation/test).

    Full mode: :data:`TRAIN_FILES` files per side; quick mode: :data:`QUICK_FILES`. Files music21
    cannot read are left out (and reported on stderr). Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    import sys

    from .settings import quick_mode
    from .tokenize import tokenize_files, tokens

    quick = quick_mode() if quick is None else quick
    parts = split_files(genre, data, QUICK_FILES if quick else GENRE_FILES.get(genre, TRAIN_FILES))
    every = [p for side in ("train", "validation", "test") for p in parts[side]]
    table, skipped = tokenize_files(every, progress=progress)
    for path, reason in skipped.items():
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return {side: [tokens(table[str(p)], rich) for p in paths if str(p) in table] for side, paths in parts.items()}


def folder_tokens(folder: str | Path, rich: bool = False, progress: bool = True) -> tuple[list[list[str]], dict[str, str]]:
    """Token lists of every MIDI file in ``folder`` (recursively), and the files skipped with why."""
    from .tokenize import tokenize_files, tokens

    folder = Path(folder)
    if folder.is_file():
        files = [folder]
    elif folder.is_dir():
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi") and p.is_file())
    else:
        raise MusicstyleError(folder, "no such file or folder")
    if not files:
        raise MusicstyleError(folder, "no MIDI files (.mid, .midi) in this folder")
    table, skipped = tokenize_files(files, progress=progress)
    if not table:
        first = next(iter(skipped.items()))
        raise MusicstyleError(first[0], f"no file could be tokenized ({first[1]})")
    return [tokens(e, rich) for e in table.values()], skipped


# ---------------------------------------------------------------- vocabulary and baselines

UNK = "<unk>"


class Vocabulary:
    """Token <-> integer; index 0 is ``<unk>`` (rare and unseen tokens). Taught in notebook 06."""

    def __init__(self, tokens: list[str]):
        self.tokens = list(tokens)
        if not self.tokens or self.tokens[0] != UNK:
            self.tokens = [UNK] + [t for t in self.tokens if t != UNK]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, sequences, min_count: int = 2) -> "Vocabulary":
        """Tokens seen at least ``min_count`` times, most frequent first (ties by name)."""
        from collections import Counter

        counts = Counter(t for s in sequences for t in s)
        return cls([t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, seq) -> "np.ndarray":
        import numpy as np

        return np.fromiter((self.index.get(t, 0) for t in seq), dtype=np.int32, count=len(seq))

    def decode(self, ids) -> list[str]:
        return [self.tokens[int(i)] for i in ids]


def ngram_tables(train_ids: list, vocab_size: int) -> tuple:
    """Unigram counts and, per token, its most frequent follower in training (else the most frequent
    token): the two baselines, small enough to store in the model's metadata."""
    import numpy as np

    counts = np.bincount(np.concatenate(train_ids), minlength=vocab_size).astype(np.int64)
    counts[0] = 0
    pairs = np.zeros((vocab_size, vocab_size), np.int32)
    for s in train_ids:
        np.add.at(pairs, (s[:-1], s[1:]), 1)
    pairs[:, 0] = 0
    follow = np.where(pairs.sum(1) > 0, pairs.argmax(1), int(counts.argmax()))
    return counts, follow


def baselines(counts, follow, test_ids: list) -> dict:
    """Unigram (most frequent training token) and bigram (the previous token's most frequent
    follower in training) next-token accuracy on ``test_ids`` (target 0 = ``<unk>`` counts as an
    error), and the add-one unigram perplexity over in-vocabulary targets. Taught in notebook 06."""
    import numpy as np

    counts, follow = np.asarray(counts, np.float64), np.asarray(follow)
    prev = np.concatenate([s[:-1] for s in test_ids])
    tgt = np.concatenate([s[1:] for s in test_ids])
    ok = tgt != 0
    p = (counts + 1) / (counts.sum() + len(counts))
    return {
        "unigram_accuracy": float(np.mean((tgt == int(counts.argmax())) & ok)),
        "bigram_accuracy": float(np.mean((tgt == follow[prev]) & ok)),
        "unigram_perplexity": float(np.exp(-np.mean(np.log(p[tgt[ok]])))) if ok.any() else float("nan"),
    }


# ---------------------------------------------------------------- model

#: Default model settings (stored in the model's metadata).
DEFAULTS = {"window": 64, "embedding": 64, "units": 128, "layers": 2, "dropout": 0.3, "min_count": 2, "batch": 16}


def build_model(vocab_size: int, embedding: int = 64, units: int = 128, layers: int = 2, dropout: float = 0.3):
    """Embedding -> stacked LSTM (dropout after each) -> dense softmax over the vocabulary, at every step.

    Many-to-many: every position of a window predicts its next token (64 times the training
    signal of the tutorial's one target per window). The dense layer also sees the current token's
    embedding (a skip around the LSTMs): that path alone is a bigram model, learnt in a couple of
    epochs, and the LSTMs add what longer context knows.
    Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    import keras

    inp = keras.Input(shape=(None,), dtype="int32", name="tokens")
    emb = keras.layers.Embedding(vocab_size, embedding, name="embedding")(inp)
    x = emb
    for i in range(layers):
        x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm{i + 1}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
    x = keras.layers.Concatenate(name="skip")([x, emb])
    out = keras.layers.Dense(vocab_size, activation="softmax", name="next_token")(x)
    return keras.Model(inp, out, name="note_lstm")


def windows(ids_list: list, window: int, hop: int | None = None):
    """(inputs, targets, weights) windows of ``window`` tokens, targets shifted by one, hop ``window``
    (each token is a target once per epoch); short pieces are padded (weight 0)."""
    import numpy as np

    hop = hop or window
    xs, ys = [], []
    for s in ids_list:
        if len(s) < 2:
            continue
        if len(s) <= window:
            pad = window + 1 - len(s)
            s = np.concatenate([s, np.full(pad, -1, np.int32)])
        for i in range(0, len(s) - window, hop):
            xs.append(s[i : i + window])
            ys.append(s[i + 1 : i + window + 1])
    if not xs:
        raise MusicstyleError("tokens", "no piece with at least two tokens to train on")
    x, y = np.stack(xs), np.stack(ys)
    w = (y >= 0).astype(np.float32)
    return np.maximum(x, 0), np.maximum(y, 0), w


def train(
    genre: str,
    data: str | Path | None = None,
    rich: bool = False,
    epochs: int = 30,
    minutes: float | None = None,
    quick: bool | None = None,
    out: str | Path | None = None,
    seed: int = 0,
    verbose: int = 2,
    **settings,
):
    """Train the note LSTM of ``genre`` on its fixed subset (piece-level split), with early
    stopping on validation loss (best weights kept) and an optional time budget in minutes; save
    to ``out`` with vocabulary and settings. Returns ``(model, metadata)``.

    Reproduces ``musicstyle/pretrained/tokens_{genre}.keras`` (``musicstyle train tokens``).
    Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    import time

    from .settings import quick_mode, quiet_tensorflow

    quick = quick_mode() if quick is None else quick
    cfg = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
    seqs = genre_tokens(genre, data, rich=rich, quick=quick, progress=verbose > 0)
    if not seqs["train"]:
        raise MusicstyleError(genre, "no training files could be tokenized")
    vocab = Vocabulary.build(seqs["train"], cfg["min_count"])
    enc = {k: [vocab.encode(s) for s in v] for k, v in seqs.items()}
    quiet_tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(len(vocab), cfg["embedding"], cfg["units"], cfg["layers"], cfg["dropout"])
    model.compile(optimizer=keras.optimizers.Adam(3e-3, clipnorm=1.0), loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    x, y, w = windows(enc["train"], cfg["window"])
    val = windows(enc["validation"] or enc["train"][:1], cfg["window"])
    callbacks = [keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)]
    if minutes:
        callbacks.append(_TimeBudget(minutes * 60))
    t0 = time.time()
    hist = model.fit(x, y, sample_weight=w, batch_size=cfg["batch"], epochs=epochs, validation_data=val, callbacks=callbacks, verbose=verbose, shuffle=True)
    n_epochs = len(hist.history["loss"])
    meta = {
        "kind": "tokens",
        "genre": genre,
        "rich": bool(rich),
        "vocabulary": vocab.tokens,
        "settings": cfg,
        "files": {k: len(v) for k, v in seqs.items()},
        "input_tokens": int(sum(len(s) for s in seqs["train"])),
        "epochs": n_epochs,
        "train_seconds": round(time.time() - t0, 1),
        "val_loss": float(min(hist.history["val_loss"])),
        "seed": seed,
        "quick": bool(quick),
    }
    held_out = seqs["test"] or seqs["validation"] or seqs["train"]
    meta["seed_tokens"] = held_out[0][: cfg["window"]]  # compose starts from a held-out piece
    counts, follow = ngram_tables(enc["train"], len(vocab))
    meta["unigram_counts"] = counts.tolist()
    meta["bigram_next"] = follow.tolist()
    if genre in GENRE_DECODING:
        meta["decoding"] = dict(GENRE_DECODING[genre])
    if seqs["test"]:
        meta["evaluation"] = evaluate(model, meta, seqs["test"])  # held-out test pieces
    if out is not None:
        from .training.modelfile import save_model

        save_model(model, out, meta)
    return model, meta


class _TimeBudget:
    """Keras callback that stops training once ``seconds`` have passed (checked after each epoch)."""

    def __new__(cls, seconds: float):
        import time

        import keras

        class TimeBudget(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.t0 = time.time()

            def on_epoch_end(self, epoch, logs=None):
                if time.time() - self.t0 > seconds:
                    self.model.stop_training = True

        return TimeBudget()


# ---------------------------------------------------------------- loading


def check_metadata(meta: dict, model, source: str | Path) -> "Vocabulary":
    """The model's :class:`Vocabulary`, after checking it against the network's shapes and settings."""
    for key in ("vocabulary", "settings", "genre"):
        if key not in meta:
            raise MusicstyleError(source, f"token model metadata lacks '{key}'")
    vocab = Vocabulary(meta["vocabulary"])
    if vocab.tokens != list(meta["vocabulary"]) or len(set(vocab.tokens)) != len(vocab.tokens):
        raise MusicstyleError(source, "vocabulary in the metadata is malformed (must start with <unk>, no duplicates)")
    emb = model.get_layer("embedding").input_dim
    out = model.get_layer("next_token").units
    if not (emb == out == len(vocab)):
        raise MusicstyleError(
            source, f"vocabulary mismatch: metadata has {len(vocab)} tokens, network expects {emb} inputs and {out} outputs"
        )
    units = model.get_layer("lstm1").units
    if meta["settings"].get("units") not in (None, units):
        raise MusicstyleError(source, f"settings mismatch: metadata says {meta['settings']['units']} LSTM units, network has {units}")
    return vocab


def load(genre_or_path: str | Path):
    """Load a token model (a genre's shipped model or a ``.keras`` path), checked: ``(model, meta, vocab)``.

    Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    from .training.modelfile import load_model
    from .training.shipped import pretrained_path
    from .settings import quiet_tensorflow

    quiet_tensorflow()
    path = pretrained_path(f"tokens_{genre_or_path}.keras") if str(genre_or_path) in GENRE_SOURCES else Path(genre_or_path)
    model, meta = load_model(path, kind="tokens")
    return model, meta, check_metadata(meta, model, path)


# ---------------------------------------------------------------- evaluation


def next_token_probs(model, ids, window: int):
    """For each position ``t >= 1`` of ``ids``, the model's probability of ``ids[t]`` and its argmax,
    predicted from up to ``window`` preceding tokens (windows overlapping by half; every target
    scored once, with at least ``window//2`` tokens of context after the first window)."""
    import numpy as np

    n = len(ids)
    p_true = np.zeros(n - 1, np.float64)
    best = np.zeros(n - 1, np.int32)
    hop = window // 2
    spans, done, s = [], 0, 0
    while done < n - 1:
        e = min(s + window, n - 1)
        spans.append((s, e, done))
        done, s = e, e - hop
    x = np.zeros((len(spans), window), np.int32)
    for k, (s, e, _) in enumerate(spans):
        x[k, : e - s] = ids[s:e]
    probs = model(x, training=False).numpy()  # one call; padding after a window cannot change it
    for k, (s, e, first) in enumerate(spans):
        t = np.arange(first, e)  # predictions of ids[t + 1], made at position t - s
        p_true[t] = probs[k, t - s, ids[t + 1]]
        best[t] = probs[k, t - s].argmax(-1)
    return p_true, best


def evaluate(model, meta: dict, sequences: list[list[str]]) -> dict:
    """Next-token accuracy and perplexity on ``sequences`` beside unigram and bigram baselines
    (counted on the model's training pieces; the tables are in its metadata).

    Targets outside the vocabulary count as errors for every predictor (share: ``oov_share``);
    perplexity is over in-vocabulary targets. Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    import numpy as np

    vocab = Vocabulary(meta["vocabulary"])
    window = meta["settings"]["window"]
    ids = [vocab.encode(s) for s in sequences if len(s) >= 2]
    if not ids:
        raise MusicstyleError("evaluate", "no sequence with at least two tokens")
    probs, hits = [], []
    for s in ids:
        p, best = next_token_probs(model, s, window)
        tgt = s[1:]
        probs.append(p[tgt != 0])
        hits.append((best == tgt) & (tgt != 0))
    tgt_all = np.concatenate([s[1:] for s in ids])
    result = {
        "genre": meta["genre"],
        "pieces": len(ids),
        "tokens": int(len(tgt_all)),
        "vocabulary": len(vocab),
        "accuracy": float(np.mean(np.concatenate(hits))),
    }
    result.update(baselines(meta["unigram_counts"], meta["bigram_next"], ids))
    p = np.concatenate(probs)
    result["perplexity"] = float(np.exp(-np.mean(np.log(np.maximum(p, 1e-12))))) if len(p) else float("nan")
    result["oov_share"] = float(np.mean(tgt_all == 0))
    return result


# ---------------------------------------------------------------- generation

#: Default decoding of ``musicstyle compose``: plain sampling at temperature 1 over the whole
#: vocabulary, with no token allowed more than ``max_run`` times in a row (see notebook 06). A
#: model may override it in its metadata (``decoding``): pop, with few distinct tokens per song,
#: adds a penalty on recently used tokens.
DECODING = {"temperature": 1.0, "top_k": 0, "max_run": 8, "penalty": 0.0}


#: Default decoding stored in a new model of these genres by :func:`train` (chosen on the shipped
#: pop model: the smallest temperature/penalty pair that gave >= 25% distinct tokens for seeds 0-4).
GENRE_DECODING = {"pop": {"temperature": 1.5, "penalty": 3.0}}


def decoding(meta: dict) -> dict:
    """The default decoding of a model: :data:`DECODING` updated by its metadata's ``decoding``."""
    return {**DECODING, **meta.get("decoding", {})}


class Generator:
    """A compiled sampling loop for one token model: the LSTM cells stepped inside one
    ``tf.function`` (``tf.while_loop``), seeded by a stateless RNG so the same seed gives the same
    tokens in any process. Taught in ``notebooks/06_note_lstm.ipynb``."""

    def __init__(self, model, meta: dict):
        import tensorflow as tf

        self.model, self.meta = model, meta
        self.vocab = Vocabulary(meta["vocabulary"])
        self.emb = model.get_layer("embedding")
        self.cells = [model.get_layer(f"lstm{i + 1}").cell for i in range(meta["settings"]["layers"])]
        self.units = [c.units for c in self.cells]
        dense = model.get_layer("next_token")
        self.kernel, self.bias = dense.kernel, dense.bias
        self._loop = tf.function(self._run, reduce_retracing=True)

    def _run(self, seed_ids, steps, temperature, top_k, max_run, greedy, rng, penalty):
        import tensorflow as tf

        V = len(self.vocab)
        states = [[tf.zeros((1, u)), tf.zeros((1, u))] for u in self.units]

        def step(token, states):
            e = self.emb(tf.reshape(token, (1,)))
            x = e
            new = []
            for cell, st in zip(self.cells, states):
                x, st2 = cell(x, st, training=False)
                new.append(list(st2))
            logits = tf.matmul(tf.concat([x, e], axis=-1), self.kernel) + self.bias
            return logits[0], new

        n_seed = tf.shape(seed_ids)[0]
        logits = tf.zeros((V,))
        for_i = tf.constant(0)

        def warm_cond(i, logits, states):
            return i < n_seed

        def warm_body(i, logits, states):
            logits, states = step(seed_ids[i], states)
            return i + 1, logits, states

        _, logits, states = tf.while_loop(warm_cond, warm_body, (for_i, logits, states))
        out = tf.TensorArray(tf.int32, size=steps)
        last = seed_ids[n_seed - 1]
        run = tf.constant(1)
        # length of the run of the seed's last token
        rev = tf.reverse(seed_ids, [0])
        differs = tf.cast(tf.not_equal(rev, last), tf.int32)
        run = tf.where(tf.reduce_any(differs > 0), tf.argmax(differs, output_type=tf.int32), n_seed)
        neg = tf.constant(-1e9)
        mask_unk = tf.one_hot(0, V, on_value=neg, off_value=0.0)

        def cond(i, logits, states, last, run, out, recent):
            return i < steps

        def body(i, logits, states, last, run, out, recent):
            z = logits + mask_unk - penalty * recent  # never emit <unk>; recent tokens less likely
            z = tf.where((run >= max_run) & (tf.range(V) == last), neg, z)
            if greedy:
                nxt = tf.argmax(z, output_type=tf.int32)
            else:
                z = z / temperature
                kth = tf.math.top_k(z, k=tf.minimum(tf.maximum(top_k, 1), V)).values[-1]
                z = tf.where((top_k > 0) & (z < kth), neg, z)
                nxt = tf.random.stateless_categorical(z[None], 1, seed=tf.stack([rng, i]), dtype=tf.int32)[0, 0]
            run = tf.where(tf.equal(nxt, last), run + 1, 1)
            out = out.write(i, nxt)
            recent = recent * 0.98 + tf.one_hot(nxt, V)  # decaying count, about the last 50 tokens
            logits, states = step(nxt, states)
            return i + 1, logits, states, nxt, run, out, recent

        loop_vars = (tf.constant(0), logits, states, last, run, out, tf.zeros((V,)))
        out = tf.while_loop(cond, body, loop_vars)[5]
        return out.stack()

    def generate(
        self, seed_tokens: list[str], n: int = 500, temperature: float = 1.0, top_k: int = 0, max_run: int = 8,
        greedy: bool = False, seed: int = 0, penalty: float = 0.0,
    ) -> list[str]:
        """``n`` new tokens after ``seed_tokens`` (unknown ones read as ``<unk>``). ``max_run=0``
        disables the repetition guard; ``greedy`` takes the most likely token every step;
        ``penalty`` lowers the logit of each token by that much per recent use (decaying by 0.98 a step)."""
        import tensorflow as tf

        if not seed_tokens:
            raise MusicstyleError("seed", "needs at least one token")
        if temperature <= 0:
            raise MusicstyleError("temperature", f"must be > 0 (got {temperature})")
        ids = self.vocab.encode(list(seed_tokens)[-self.meta["settings"]["window"] :])
        out = self._loop(
            tf.constant(ids, tf.int32),
            tf.constant(int(n), tf.int32),
            tf.constant(float(temperature), tf.float32),
            tf.constant(int(top_k), tf.int32),
            tf.constant(int(max_run) if max_run else 10**9, tf.int32),
            bool(greedy),
            tf.constant(int(seed) % (2**31 - 1), tf.int32),
            tf.constant(float(penalty), tf.float32),
        )
        return self.vocab.decode(out.numpy())


def run_stats(tokens: list[str]) -> dict:
    """Longest run of one token and share of distinct tokens of a generated sequence (notebook 06)."""
    longest, cur = (1 if tokens else 0), 1
    for a, b in zip(tokens, tokens[1:]):
        cur = cur + 1 if a == b else 1
        longest = max(longest, cur)
    return {"longest_run": longest, "distinct_share": len(set(tokens)) / max(1, len(tokens))}


def seed_tokens(genre: str, data: str | Path | None = None, length: int = 100, piece: int = 0) -> list[str]:
    """``length`` tokens from the start of a held-out (test) piece of ``genre``: the seed of
    :func:`compose`; falls back to the seed stored in the shipped model when the data is absent."""
    from .tokenize import elements, tokens

    test = split_files(genre, data)["test"]
    if not test:
        raise MusicstyleError(genre, "no held-out piece")
    return tokens(elements(test[piece % len(test)]))[:length]


def to_midi(tokens: list[str], step: float = 0.5, bpm: float = 120.0, velocity: int = 80) -> bytes:
    """MIDI bytes of a token list (one piano track).

    Rich tokens carry their pitches, duration and rests and are played back exactly. Simple tokens
    (the tutorial's) have none: each starts ``step`` quarters after the previous one and lasts
    ``step``; a chord's pitch classes are voiced upwards from the octave below the last single
    note (not all in octave 4, the tutorial's fault). Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    from fractions import Fraction

    from .tokenize import parse_token

    tpq = 480
    events = []  # (tick, order, bytes)
    t = Fraction(0)
    anchor = 60  # pitch of the last single note
    for tok in tokens:
        if tok == UNK:
            continue
        pitches, dur, rest = parse_token(tok)
        if dur is None:
            dur = Fraction(step).limit_denominator(96)
            if pitches and all(p < 12 for p in pitches) and (len(pitches) > 1 or not tok[0].isalpha()):
                base = max(24, anchor - 12 - (anchor % 12))
                voiced, last = [], base - 1
                for pc in pitches:
                    p = base + pc
                    while p <= last:
                        p += 12
                    voiced.append(p)
                    last = p
                pitches = voiced
            elif len(pitches) == 1:
                anchor = pitches[0]
        if not rest:
            on, off = int(t * tpq), int((t + dur) * tpq)
            for p in pitches:
                p = min(127, max(0, p))
                events.append((on, 1, bytes([0x90, p, velocity])))
                events.append((max(off, on + 1), 0, bytes([0x80, p, 0])))
        t += dur
    from .core.midi import write_events

    return write_events(events, tpq, int(60_000_000 / bpm))


# ---------------------------------------------------------------- figures


def plot_elements(e, count: int = 24, rich: bool = False, ax=None):
    """The first ``count`` music21 elements of a file as a piano roll, each labelled with its token
    (simple or rich), so the tokenization can be read against the notes. Returns the axes.
    Taught in ``notebooks/06_note_lstm.ipynb``."""
    import matplotlib.pyplot as plt

    from .tokenize import _select

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 4.5))
    e = _select(e)
    order = np.argsort(e.offset, kind="stable")[:count]
    for k, i in enumerate(order):
        ps = e.pitches[e.start[i] : e.start[i + 1]]
        color = "tab:orange" if len(ps) > 1 else "tab:blue"
        for p in ps:
            ax.broken_barh([(e.offset[i], max(e.duration[i], 0.05))], (p - 0.4, 0.8), color=color, alpha=0.8)
        ax.annotate(str(e.token[i]), (e.offset[i], ps.max() + 1 + 2.2 * (k % 3)), fontsize=8, rotation=0, color=color)
    ax.set_xlabel("quarter notes (music21 offsets)")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(f"{e.name}: first {len(order)} tokens (blue: note, orange: chord as normal-order pitch classes)")
    return ax


def plot_decoding(stats: dict, ax=None):
    """Bars of longest run and distinct share per decoding (``{label: run_stats(...)}``). Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.5))
    labels = list(stats)
    x = np.arange(len(labels))
    runs = [stats[k]["longest_run"] for k in labels]
    share = [100 * stats[k]["distinct_share"] for k in labels]
    ax.bar(x - 0.2, runs, 0.4, label="longest run of one token", color="tab:red")
    ax.bar(x + 0.2, share, 0.4, label="distinct tokens (%)", color="tab:green")
    ax.axhline(8, color="tab:red", ls="--", lw=1)
    ax.axhline(25, color="tab:green", ls="--", lw=1)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xticks(x, labels)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("500 generated tokens per decoding (dashed: the bars to pass, run <= 8 and >= 25% distinct)")
    return ax


def data_table(genres=("classical", "pop", "jazz"), generated: int = 500) -> list[dict]:
    """The source's table for the shipped models: genre, files used (train/validation/test), input
    tokens, vocabulary size, tokens generated; read from each model's metadata (no TensorFlow).
    Taught in ``notebooks/06_note_lstm.ipynb``."""
    from .training.modelfile import read_metadata
    from .training.shipped import pretrained_path

    rows = []
    for g in genres:
        meta = read_metadata(pretrained_path(f"tokens_{g}.keras"))
        rows.append({"genre": g, "files used": "/".join(str(meta["files"][k]) for k in ("train", "validation", "test")),
                     "input tokens": meta["input_tokens"], "vocabulary": len(meta["vocabulary"]), "tokens generated": generated})
    return rows
