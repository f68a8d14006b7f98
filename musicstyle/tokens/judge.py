"""Does the composed music sound like its genre? The genre classifier's verdict and note histograms.

Taught in ``notebooks/06_note_lstm.ipynb``. Pieces are composed with each model's default decoding
and played three ways, so the table shows what each step buys: ``tutorial`` (one token every eighth
note at velocity 80, chords voiced below the melody), ``voiced`` (the genre's chord voicings,
tutorial timing) and ``genre`` (voicings, timing and loudness of the genre); ``musicstyle compose``
plays a model's pieces the way its ``timing`` says. The genre classifier
(:func:`musicstyle.classifier.verdict`) judges each; ``real`` rows play the genre's own validation
token lists the ``voiced`` and ``genre`` ways (the most the tokens allow; the better of the two is
the model's default ``timing``) and the validation MIDI files themselves. Pitch-class and interval
histograms are compared with those of the genre's held-out (test) performances by total variation
distance (0: identical, 1: disjoint), beside the distance of the validation performances (real
against real).
"""

from __future__ import annotations

import numpy as np

from ..core.midi import read_midi
from ..errors import MusicstyleError
from .data import genre_folder, held_out_tokens, split_files
from .evaluate import run_stats
from .generate import Generator, decoding, to_midi
from .model import load

#: Intervals between successive onsets' highest notes are binned in -12..12 semitones.
MAX_INTERVAL = 12


def histograms(perf) -> tuple[np.ndarray, np.ndarray]:
    """Pitch-class histogram of the notes and interval histogram of the top line of one piece.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        perf: a :class:`musicstyle.core.midi.Performance`.

    Returns:
        ``(12 pitch-class counts, 25 interval counts for -12..12)``; the top line is the highest
        note of each onset tick, intervals beyond an octave are clipped to it.
    """
    notes = perf.notes
    pcs = np.bincount(notes["pitch"] % 12, minlength=12).astype(np.float64)
    starts, first = np.unique(notes["start"], return_index=True)
    top = np.maximum.reduceat(notes["pitch"].astype(np.int64), first) if len(first) else np.zeros(0, np.int64)
    steps = np.clip(np.diff(top), -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
    return pcs, np.bincount(steps, minlength=2 * MAX_INTERVAL + 1).astype(np.float64)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * np.abs(a / max(a.sum(), 1) - b / max(b.sum(), 1)).sum())


def _pooled(perfs) -> tuple[np.ndarray, np.ndarray]:
    pcs, ivs = zip(*(histograms(p) for p in perfs))
    return np.sum(pcs, axis=0), np.sum(ivs, axis=0)


def _readable(paths, skipped: dict) -> list:
    """The performances of the files that can be read; each that cannot goes into ``skipped`` with the reason."""
    perfs = []
    for path in paths:
        try:
            perfs.append(read_midi(path))
        except MusicstyleError as err:
            skipped[str(path)] = err.reason
    return perfs


def _row(label: str, genre: str, perfs: list, reference, judge, runs: list[dict] | None = None) -> dict:
    if not perfs:
        return {"genre": genre, "played": label, "pieces": 0}
    pcs, ivs = _pooled(perfs)
    row = {"genre": genre, "played": label, "pieces": len(perfs),
           "pitch_class_distance": _distance(pcs, reference[0]), "interval_distance": _distance(ivs, reference[1])}
    if judge is not None:
        share = [judge(p)[genre] for p in perfs]
        row["judged_own_genre"], row["mean_probability"] = _judged_own(share), float(np.mean(share))
    if runs is not None:
        row["longest_run"] = max(r["longest_run"] for r in runs)
        row["distinct_share_min"] = min(r["distinct_share"] for r in runs)
    return row


def _judged_own(share) -> float:
    """The share of pieces heard as their own genre (probability above one half)."""
    return float(np.mean(np.asarray(share) > 0.5))


def _real_played(real: list[list[str]], way: dict, tokens: int, pieces: int, label: str) -> list:
    """The first ``tokens`` of the first ``pieces`` validation token lists, played one way (seeds 1, 2, ...)."""
    return [read_midi(to_midi(t[:tokens], playing=way, seed=s), name=label) for s, t in enumerate(real[:pieces], 1)]


def choose_timing(genre: str, playing: dict, real: list[list[str]], tokens: int = 500, pieces: int = 20, judge=None) -> dict:
    """How a model plays its tokens: the genre's timing or the tutorial's, whichever makes the genre's
    own validation token lists sound more like the genre to the genre classifier (a tie: the genre's).

    Taught in ``notebooks/06_note_lstm.ipynb``; :func:`musicstyle.tokens.train` stores the choice in
    ``playing["timing"]``. The lists are played with the genre's voicings either way (seeds 1, 2, ...),
    as the ``real tokens`` rows of :func:`genre_table`.

    Args:
        genre: ``classical`` or ``jazz`` (the classifier's genres).
        playing: the model's playing (:func:`musicstyle.tokens.playing`).
        real: the genre's validation token lists.
        tokens, pieces: the first ``tokens`` of the first ``pieces`` lists of at least two tokens.
        judge: ``piece -> {genre: p}`` (default: :func:`musicstyle.classifier.verdict`).

    Returns:
        ``{"timing": "genre" or "tutorial", "judged_own_genre": {timing: share of pieces}, "pieces": n}``.
    """
    if judge is None:
        from .. import classifier

        judge = classifier.verdict
    lists = [t for t in real if len(t) >= 2][:pieces]
    if not lists:
        raise MusicstyleError(genre, "no validation piece of at least two tokens to choose the timing on")
    shares = {timing: _judged_own([judge(p)[genre] for p in _real_played(lists, {**playing, "timing": timing}, tokens,
                                                                        pieces, f"{genre} validation")])
              for timing in ("genre", "tutorial")}
    return {"timing": max(shares, key=shares.get), "judged_own_genre": shares, "pieces": len(lists)}


def genre_table(genres=("classical", "jazz"), pieces: int = 20, tokens: int = 500, data=None, models: dict | None = None,
                classify: bool = True) -> list[dict]:
    """Compose pieces per genre and judge them: classifier verdict, histogram distances, repetition.

    Taught in ``notebooks/06_note_lstm.ipynb`` (``musicstyle evaluate composed --json``).

    Args:
        genres: genres to compose (the classifier knows classical and jazz; others get no verdict).
        pieces: pieces per genre (seeds 1 to ``pieces``, each from the model's stored seed tokens).
        tokens: tokens per piece.
        data: the folder holding the datasets (default: found as usual).
        models: ``{genre: .keras path}`` instead of the shipped models.
        classify: ask the genre classifier (False: histograms and repetition only).

    Returns:
        ``rows``: one per genre and way of playing: ``genre``, ``played``, ``pieces``,
        ``judged_own_genre`` (share of pieces the classifier gives their own genre, p > 0.5),
        ``mean_probability``, ``pitch_class_distance``, ``interval_distance`` and, for composed
        rows, ``longest_run`` and ``distinct_share_min``; ``skipped`` (held-out files that could not be
        read, left out of the real rows and the reference) and, if any, ``skipped_files`` (the reason
        for each, by path).
    """
    judge = None
    if classify:
        from .. import classifier

        judge = classifier.verdict
    rows, skipped = [], {}

    def played(midis: list[bytes], label: str) -> list:
        return [read_midi(m, name=label) for m in midis]

    for g in genres:
        net, meta, _ = load((models or {}).get(g, g))
        play = meta.get("playing")
        if not play:
            raise MusicstyleError(g, "this token model stores no genre playing (retrain it)")
        parts = split_files(g, data)
        if not (test := _readable(parts["test"], skipped)):
            raise MusicstyleError(genre_folder(g, data), "no test piece of the split could be read to compare with")
        reference = _pooled(test)
        verdict = judge if g in ("classical", "jazz") else None
        gen = Generator(net, meta)
        composed = [gen.generate(meta["seed_tokens"], tokens, seed=s, **decoding(meta)) for s in range(1, pieces + 1)]
        runs = [run_stats(t) for t in composed]
        ways = {"voiced": {**play, "timing": "tutorial"}, "genre": {**play, "timing": "genre"}}
        rows.append(_row("tutorial", g, played([to_midi(t) for t in composed], "tutorial"), reference, verdict, runs))
        for label, way in ways.items():
            rows.append(_row(label, g, played([to_midi(t, playing=way, seed=s) for s, t in enumerate(composed, 1)], label),
                             reference, verdict, runs))
        real, unread = held_out_tokens(g, data, "validation", progress=False)
        skipped.update(unread)
        for label, way in ways.items():
            label = f"real tokens, {label}"
            rows.append(_row(label, g, _real_played(real, way, tokens, pieces, label), reference, verdict))
        rows.append(_row("real files", g, _readable(parts["validation"][:pieces], skipped), reference, verdict))
    return {"rows": rows, "skipped": len(skipped), **({"skipped_files": skipped} if skipped else {})}
