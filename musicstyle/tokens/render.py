"""How a genre is played: onset gaps, note lengths and velocities drawn from its real pieces.

Taught in ``notebooks/06_note_lstm.ipynb``. Tutorial tokens carry pitches only; the tutorial plays
them one every eighth note at one velocity, which is nobody's music (the genre classifier hears
such a jazz piece as classical). A model instead stores its genre's *playing*: onsets of its
training performances (notes starting within :data:`CHORD_SECONDS` of each other form one onset,
as music21 merges them into one chord), by size (1, 2, 3, 4 or more notes), each with the time to
the next onset, how long its notes are held and how hard they are struck. A composed token of
``n`` pitches is played like a random real onset of ``n`` notes: its timing and loudness come from
the genre, its notes from the model.
"""

from __future__ import annotations

import numpy as np

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


def playing(performances, seed: int = 0) -> dict:
    """A genre's playing, from its training performances, small enough for a model's metadata.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        performances: :class:`musicstyle.core.midi.Performance` pieces.
        seed: which :data:`KEPT` onsets of each size are kept.

    Returns:
        ``{"1": [[gap_ms, held_ms, velocity], ...], ..., "4": [...]}`` (sizes never seen are left out).
    """
    rows = [r for p in performances if len(r := _onsets(p))]
    if not rows:
        return {}
    table = np.concatenate(rows)
    rng = np.random.default_rng(seed)
    out = {}
    for size in (1, 2, 3, 4):
        these = table[table[:, 0] == size]
        if len(these):
            these = these[rng.choice(len(these), min(KEPT, len(these)), replace=False)]
            out[str(size)] = np.round(these[:, 1:] * [1000, 1000, 1]).astype(int).tolist()
    return out


def draw_playing(table: dict, sizes, seed: int = 0) -> np.ndarray:
    """Gap, held length and velocity for onsets of given sizes, each from a real onset of that size.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        table: the playing of :func:`playing`.
        sizes: notes per onset to play (0: a rest, which gets a gap only).
        seed: the random seed: same seed, same playing.

    Returns:
        (len(sizes), 3) float: gap and held length in seconds, velocity 1-127.
    """
    rng = np.random.default_rng(seed)
    pools = {int(k): np.asarray(v, np.float64) for k, v in table.items()}
    every = np.concatenate(list(pools.values()))
    out = np.zeros((len(sizes), 3))
    for i, n in enumerate(sizes):
        pool = pools.get(min(max(int(n), 1), 4), every)
        out[i] = pool[rng.integers(len(pool))]
    out[:, :2] /= 1000.0
    out[:, 1] = np.maximum(out[:, 1], 0.03)
    out[:, 2] = np.clip(out[:, 2], 1, 127)
    return out
