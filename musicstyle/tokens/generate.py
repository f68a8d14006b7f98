"""Writing new pieces with a token model: the compiled sampling loop, its seed and MIDI playback.

Taught in ``notebooks/06_note_lstm.ipynb``.
"""

from __future__ import annotations

import functools
import numbers
import time
from fractions import Fraction
from pathlib import Path

from ..core.inputs import input_file
from ..core.outputs import MIDI, output_file
from ..errors import MusicstyleError
from ..settings import check_positive, check_seed
from .cache import elements
from .data import split_files
from .evaluate import run_stats
from .model import described_model, load
from .render import draw_playing
from .tokenizer import parse_token, tokens
from .vocabulary import UNK, Vocabulary

#: Default decoding of ``musicstyle compose``: plain sampling at temperature 1 over the whole
#: vocabulary, with no token allowed more than ``max_run`` times in a row (see notebook 06). A
#: model may override it in its metadata (``decoding``): pop, with few distinct tokens per song,
#: adds a penalty on recently used tokens.
DECODING = {"temperature": 1.0, "top_k": 0, "max_run": 8, "penalty": 0.0}
#: Default decoding stored in a new model of these genres by :func:`musicstyle.tokens.train`
#: (chosen on the shipped pop model: the smallest temperature/penalty pair that gave >= 25%
#: distinct tokens for seeds 0-4).
GENRE_DECODING = {"pop": {"temperature": 1.5, "penalty": 3.0}}
#: Most tokens one piece may ask for (10,000 take about 10 s on a 2-core CPU).
MAX_TOKENS = 100_000


def decoding(meta: dict) -> dict:
    """The default decoding of a model.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        meta: the model's metadata.

    Returns:
        :data:`DECODING` updated by the metadata's ``decoding``.
    """
    return {**DECODING, **meta.get("decoding", {})}


class Generator:
    """A compiled sampling loop for one token model.

    Taught in ``notebooks/06_note_lstm.ipynb``. The LSTM cells are stepped inside one
    ``tf.function`` (``tf.while_loop``), seeded by a stateless RNG, so the same seed gives the same
    tokens in any process.

    Args:
        model: a token model.
        meta: its metadata (vocabulary and settings).
    """

    def __init__(self, model, meta: dict):
        import tensorflow as tf

        if meta["settings"].get("arch", "lstm") == "tutorial":
            raise MusicstyleError("tutorial", "the tutorial baseline is measured, not composed with (use an lstm model)")
        self.model, self.meta = model, meta
        self.vocab = Vocabulary(meta["vocabulary"])
        self.emb = model.get_layer("embedding")
        self.cells = [model.get_layer(f"lstm{i + 1}").cell for i in range(meta["settings"]["layers"])]
        self.units = [c.units for c in self.cells]
        dense = model.get_layer("next_token")
        self.kernel, self.bias = dense.kernel, dense.bias
        scalars = (tf.int32, tf.float32, tf.int32, tf.int32, tf.int32, tf.float32)
        signature = [tf.TensorSpec([None], tf.int32)] + [tf.TensorSpec([], dtype) for dtype in scalars]
        # one compiled loop per decoding kind, traced once: any seed length, any settings
        self._loops = {greedy: tf.function(functools.partial(self._run, greedy=greedy), input_signature=signature)
                       for greedy in (False, True)}

    def _run(self, seed_ids, steps, temperature, top_k, max_run, rng, penalty, greedy):
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

        def warm_body(i, logits, states):
            logits, states = step(seed_ids[i], states)
            return i + 1, logits, states

        _, logits, states = tf.while_loop(lambda i, *_: i < n_seed, warm_body, (tf.constant(0), tf.zeros((V,)), states))
        out = tf.TensorArray(tf.int32, size=steps)
        last = seed_ids[n_seed - 1]
        # length of the run of the seed's last token
        differs = tf.cast(tf.not_equal(tf.reverse(seed_ids, [0]), last), tf.int32)
        run = tf.where(tf.reduce_any(differs > 0), tf.argmax(differs, output_type=tf.int32), n_seed)
        neg = tf.constant(-1e9)
        mask_unk = tf.one_hot(0, V, on_value=neg, off_value=0.0)

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
        out = tf.while_loop(lambda i, *_: i < steps, body, loop_vars)[5]
        return out.stack()

    def generate(
        self, seed_tokens: list[str], n: int = 500, temperature: float = 1.0, top_k: int = 0, max_run: int = 8,
        greedy: bool = False, seed: int = 0, penalty: float = 0.0,
    ) -> list[str]:
        """New tokens after a seed.

        Args:
            seed_tokens: the start (its last ``window`` tokens are read; unknown ones as ``<unk>``).
            n: tokens to generate.
            temperature: sampling temperature (> 0).
            top_k: sample among the ``k`` most likely tokens (0: all).
            max_run: longest run of one token allowed (0: no limit).
            greedy: take the most likely token every step.
            seed: the random seed.
            penalty: lower each token's logit by this much per recent use (decaying by 0.98 a step).

        Returns:
            ``n`` tokens (never ``<unk>``).
        """
        import tensorflow as tf

        if not seed_tokens:
            raise MusicstyleError("seed", "needs at least one token")
        if temperature <= 0:
            raise MusicstyleError("temperature", f"must be > 0 (got {temperature})")
        ids = self.vocab.encode(list(seed_tokens)[-self.meta["settings"]["window"] :])
        out = self._loops[bool(greedy)](
            tf.constant(ids, tf.int32),
            tf.constant(int(n), tf.int32),
            tf.constant(float(temperature), tf.float32),
            tf.constant(int(top_k), tf.int32),
            tf.constant(int(max_run) if max_run else 10**9, tf.int32),
            tf.constant(int(seed) % (2**31 - 1), tf.int32),
            tf.constant(float(penalty), tf.float32),
        )
        return self.vocab.decode(out.numpy())


def seed_tokens(genre: str, data: str | Path | None = None, length: int = 100, piece: int = 0) -> list[str]:
    """The start of a held-out (test) piece: what a new piece of a genre grows from.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        genre, data: see :func:`musicstyle.tokens.genre_folder`.
        length: tokens kept.
        piece: which test piece (by hash rank, wrapping around).

    Returns:
        The first ``length`` simple tokens of that piece.
    """
    test = split_files(genre, data)["test"]
    if not test:
        raise MusicstyleError(genre, "no held-out piece")
    return tokens(elements(test[piece % len(test)]))[:length]


def _voiced(pitch_classes: list[int], anchor: int) -> list[int]:
    """A simple chord's pitch classes voiced upwards from the octave below the last single note."""
    base = max(24, anchor - 12 - (anchor % 12))
    voiced, last = [], base - 1
    for pc in pitch_classes:
        p = base + pc
        while p <= last:
            p += 12
        voiced.append(p)
        last = p
    return voiced


def to_midi(sequence: list[str], step: float = 0.5, bpm: float = 120.0, velocity: int = 80, playing: dict | None = None,
            seed: int = 0) -> bytes:
    """MIDI bytes of a token list (one piano track).

    Taught in ``notebooks/06_note_lstm.ipynb``. Rich tokens carry their pitches, duration and rests
    and are played back exactly. Simple tokens (the tutorial's) have none: each starts ``step``
    quarters after the previous one and lasts ``step`` (or, with ``playing``, is timed and struck
    like a random real onset of as many notes of the genre: :func:`musicstyle.tokens.draw_playing`);
    a chord's pitch classes get the genre's voicing of that chord (``playing["voicing"]``) or are
    voiced upwards from the octave below the last single note (not all in octave 4, the tutorial's
    fault).

    Args:
        sequence: simple or rich tokens (``<unk>`` is skipped).
        step: quarters per simple token.
        bpm: tempo.
        velocity: the velocity of every note (without ``playing``).
        playing: a genre's playing (:func:`musicstyle.tokens.playing`; None: ``step`` and ``velocity``;
            with ``timing`` ``tutorial``: its voicings only).
        seed: the seed of the playing's draws.

    Returns:
        The Standard MIDI File bytes.
    """
    from ..core.midi import write_events

    tpq = 480
    sequence = [tok for tok in sequence if tok != UNK]
    parsed = [parse_token(tok) for tok in sequence]
    timed = playing and playing.get("onsets") and playing.get("timing", "genre") == "genre"
    drawn = draw_playing(playing, [len(p) for p, _, _ in parsed], seed) if timed else None
    events = []  # (tick, order, bytes)
    t = Fraction(0)
    anchor = 60  # pitch of the last single note
    for i, (tok, (pitches, dur, rest)) in enumerate(zip(sequence, parsed)):
        hold, vel = dur, velocity
        if dur is None:
            dur = hold = Fraction(step).limit_denominator(96)
            if drawn is not None:
                dur, hold = (Fraction(float(x) * bpm / 60).limit_denominator(960) for x in drawn[i, :2])
            if playing and tok in playing.get("voicing", {}):
                pitches = playing["voicing"][tok]
            elif pitches and all(p < 12 for p in pitches) and (len(pitches) > 1 or not tok[0].isalpha()):
                pitches = _voiced(pitches, anchor)
            elif len(pitches) == 1:
                anchor = pitches[0]
        if drawn is not None:
            vel = int(round(drawn[i, 2]))
        if not rest:
            on, off = int(t * tpq), int((t + hold) * tpq)
            for p in pitches:
                p = min(127, max(0, p))
                events.append((on, 1, bytes([0x90, p, vel])))
                events.append((max(off, on + 1), 0, bytes([0x80, p, 0])))
        t += dur
    return write_events(events, tpq, int(60_000_000 / bpm))


def compose(genre: str, out: str | Path, n: int = 500, seed: int = 0, greedy: bool = False,
            seed_file: str | Path | None = None, model: str | Path | None = None, **decoding_overrides) -> dict:
    """``musicstyle compose``: a new piece of a genre written to a MIDI file.

    Taught in ``notebooks/06_note_lstm.ipynb``. The tokens are played with the model's genre
    playing when it stores one (:mod:`musicstyle.tokens.render`; drawn with the same seed).

    Args:
        genre: the genre whose shipped model (and held-out seed) to use.
        out: the ``.mid`` file written.
        n: tokens to generate.
        seed: the random seed: same seed, same piece.
        greedy: always take the most likely token.
        seed_file: a MIDI file whose first tokens start the piece (default: the model's stored
            seed, a held-out piece).
        model: a ``.keras`` token model instead of the shipped one.
        **decoding_overrides: ``temperature``, ``top_k``, ``max_run``, ``penalty`` (None: the model's).

    Returns:
        ``midi`` (the file written), ``genre``, ``model_file`` (``NAME (shipped)`` or the file given), ``tokens``, the
        :func:`musicstyle.tokens.run_stats` figures, ``decoding``,
        ``seconds_with_tracing``, ``first_tokens`` and ``played`` (:func:`played_as`).
    """
    if unknown := sorted(set(decoding_overrides) - set(DECODING)):  # a misspelt setting, named here
        raise TypeError(f"compose() got an unexpected keyword argument {unknown[0]!r} "
                        f"(the decoding settings are {', '.join(DECODING)})")
    if seed_file is not None:
        seed_file = input_file(seed_file)  # an empty name is refused, not taken as no file
    out = output_file(out, MIDI, inputs=(seed_file,))
    check_seed(seed)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= MAX_TOKENS:
        raise MusicstyleError("n", f"tokens to generate must be a whole number from 1 to {MAX_TOKENS} (got {n!r})")
    if decoding_overrides.get("temperature") is not None:
        check_positive(decoding_overrides["temperature"], "temperature")
    if (penalty := decoding_overrides.get("penalty")) is not None and not 0 <= penalty < float("inf"):
        raise MusicstyleError("penalty", f"must be a finite number of at least 0 (got {penalty!r})")
    net, meta, _ = load(model or genre)
    if meta["genre"] != genre:  # its seed, its playing and the name in the result are the model's genre
        raise MusicstyleError(model, f"a {meta['genre']} token model: give --genre {meta['genre']} (not {genre})")
    if seed_file:
        start = tokens(elements(seed_file), meta.get("rich", False))
    else:
        start = meta.get("seed_tokens") or seed_tokens(genre)
    start = start[: meta["settings"]["window"]]
    dec = {**decoding(meta), **{k: v for k, v in decoding_overrides.items() if v is not None}}
    gen = Generator(net, meta)
    t0 = time.perf_counter()
    toks = gen.generate(start, n, greedy=greedy, seed=seed, **dec)
    seconds = time.perf_counter() - t0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_midi(toks, playing=meta.get("playing"), seed=seed))
    return {"midi": str(out), "genre": genre, "model_file": described_model(model, genre), "tokens": len(toks), **run_stats(toks),
            "decoding": "greedy" if greedy else dec,
            "seconds_with_tracing": round(seconds, 2), "first_tokens": toks[:12],
            "played": played_as(meta)}


def played_as(meta: dict) -> str:
    """How ``compose`` plays a model's tokens, named as the rows of ``evaluate composed``: ``genre`` (its genre's
    voicings, onset timing and loudness), ``voiced`` (the voicings on the tutorial's grid) or ``tutorial``
    (eighth notes at one velocity: a model that stores no playing)."""
    if not meta.get("playing"):
        return "tutorial"
    return "voiced" if meta["playing"].get("timing", "genre") == "tutorial" else "genre"
