"""How a genre is played: chord voicings, onset gaps, note lengths and velocities from its real pieces.

Taught in ``notebooks/06_note_lstm.ipynb``. Tutorial tokens carry pitches only, and a chord only its
pitch classes; the tutorial plays them one every eighth note at one velocity, every chord in one
octave, which is nobody's music (the genre classifier hears even a real jazz piece's tokens
played so as classical). A model instead stores its genre's *playing*:

- ``voicing``: each chord token's most frequent real pitches in the training pieces (``0.4.7`` ->
  C3 G3 E4), so chords sit where the genre puts them;
- ``onsets``: onsets of its training performances (notes starting within :data:`CHORD_SECONDS` of
  each other form one onset, as music21 merges them into one chord), by size (1, 2, 3, 4 or more
  notes), each with the time to the next onset, how long its notes are held and how hard they
  are struck. A composed token of ``n`` pitches is played like a random real onset of ``n`` notes.

The notes come from the model, their timing and loudness from the genre. ``timing`` says whether a
model plays its onsets (``genre``) or keeps the tutorial's eighth notes at velocity 80
(``tutorial``): for classical and jazz, :func:`musicstyle.tokens.train` chooses it on the
validation pieces, as the way the genre's own token lists are more often judged as their genre
(:func:`musicstyle.tokens.choose_timing`); other genres keep ``genre``.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from ..errors import MusicstyleError
from .cache import tokenize_files
from .tokenizer import select_tracks

#: Notes starting within this many seconds are one onset.
CHORD_SECONDS = 0.06
#: Gaps between onsets longer than this are cut to it (seconds).
MAX_GAP = 2.0
#: Onsets kept per size in a model's metadata.
KEPT = 2000


def _onsets(perf) -> np.ndarray:
    """(onsets, 4): size, gap to the next onset (s), mean held length (s), mean velocity."""
    notes = perf.notes
    if len(notes) < 2:
        return np.zeros((0, 4))
    start, end = perf.seconds(notes["start"]), perf.seconds(notes["end"])
    group = np.zeros(len(start), np.int64)
    first = start[0]
    for i in range(1, len(start)):
        new = start[i] - first > CHORD_SECONDS
        group[i] = group[i - 1] + new
        first = start[i] if new else first
    n = group[-1] + 1
    size = np.bincount(group, minlength=n)
    onset = start[np.searchsorted(group, np.arange(n))]  # each onset's first note
    held = np.bincount(group, end - start, n) / size
    vel = np.bincount(group, notes["velocity"].astype(np.float64), n) / size
    gap = np.minimum(np.diff(onset), MAX_GAP)
    return np.stack([np.minimum(size[:-1], 4), gap, held[:-1], vel[:-1]], axis=1)


def voicings(tables, tokens=None) -> dict:
    """Each chord token's most frequent real pitches.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        tables: element tables (:class:`musicstyle.tokens.Elements`) of the training pieces.
        tokens: keep only these tokens (None: all).

    Returns:
        ``{chord token: [MIDI pitches]}``.
    """
    seen: dict[str, Counter] = defaultdict(Counter)
    for e in tables:
        e = select_tracks(e)
        for i, tok in enumerate(e.token):
            if tok[0].isdigit():
                seen[str(tok)][tuple(int(p) for p in e.pitches[e.start[i] : e.start[i + 1]])] += 1
    keep = None if tokens is None else set(tokens)
    return {t: list(c.most_common(1)[0][0]) for t, c in sorted(seen.items()) if keep is None or t in keep}


def playing(performances, tables=(), tokens=None, seed: int = 0) -> dict:
    """A genre's playing, from its training pieces, small enough for a model's metadata.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        performances: the training pieces as :class:`musicstyle.core.midi.Performance`.
        tables: their element tables (for the voicings).
        tokens: the chord tokens worth a voicing (None: all).
        seed: which :data:`KEPT` onsets of each size are kept.

    Returns:
        ``{"voicing": {...}, "onsets": {"1": [[gap_ms, held_ms, velocity], ...], ..., "4": [...]},
        "timing": "genre"}`` (sizes never seen are left out).
    """
    rows = [r for p in performances if len(r := _onsets(p))]
    table = np.concatenate(rows) if rows else np.zeros((0, 4))
    rng = np.random.default_rng(seed)
    onsets = {}
    for size in (1, 2, 3, 4):
        these = table[table[:, 0] == size]
        if len(these):
            these = these[rng.choice(len(these), min(KEPT, len(these)), replace=False)]
            onsets[str(size)] = np.round(these[:, 1:] * [1000, 1000, 1]).astype(int).tolist()
    return {"voicing": voicings(tables, tokens), "onsets": onsets, "timing": "genre"}


def files_playing(paths, tokens=None, seed: int = 0) -> dict:
    """The :func:`playing` of MIDI files (their element tables from the token cache).

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        paths: a genre's training files (files that cannot be read are left out).
        tokens: the chord tokens worth a voicing (None: all).
        seed: see :func:`playing`.

    Returns:
        The playing.
    """
    from ..core.midi import read_midi

    tables, _ = tokenize_files(paths, progress=False)
    performances = []
    for p in paths:
        try:
            performances.append(read_midi(p))
        except MusicstyleError:
            continue
    return playing(performances, tables.values(), tokens, seed)


def draw_playing(table: dict, sizes, seed: int = 0) -> np.ndarray:
    """Gap, held length and velocity for onsets of given sizes, each from a real onset of that size.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        table: the playing of :func:`playing` (with onsets).
        sizes: notes per onset to play (0: a rest, which gets a gap only).
        seed: the random seed: same seed, same playing.

    Returns:
        (len(sizes), 3) float: gap and held length in seconds, velocity 1-127.
    """
    rng = np.random.default_rng(seed)
    pools = {int(k): np.asarray(v, np.float64) for k, v in table["onsets"].items()}
    every = np.concatenate(list(pools.values()))
    out = np.zeros((len(sizes), 3))
    for i, n in enumerate(sizes):
        pool = pools.get(min(max(int(n), 1), 4), every)
        out[i] = pool[rng.integers(len(pool))]
    out[:, :2] /= 1000.0
    out[:, 1] = np.maximum(out[:, 1], 0.03)
    out[:, 2] = np.clip(out[:, 2], 1, 127)
    return out
