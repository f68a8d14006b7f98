"""The classifier's inputs: two channels of the piano roll, cut into windows, transposed in training.

Taught in ``notebooks/03_genre_classifier.ipynb``. A window holds ``length`` steps of two channels
side by side: ``held`` (a key sounds) and ``velocity / 127`` at onsets. The shipped model uses
:data:`~musicstyle.core.roll.KEYS_ONLY` columns: the soft pedal (CC67) is recorded in 61% of TPD
classical files and 1% of jazz files, so a model that sees the pedal columns partly learns the
recording setup.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.midi import Performance
from ..core.roll import KEYS_ONLY, PAPER, Layout, piano_roll, segments
from ..errors import MusicstyleError

#: Label 0 and 1 of the classifier's output.
CLASSES = ("classical", "jazz")
#: Training transposes each window by up to this many semitones, up or down.
MAX_SHIFT = 5


def first_beats(perf: Performance, beats: float) -> Performance:
    """The piece cut to its first ``beats`` quarter notes: notes that start before the cut, ended at it
    at the latest, and the pedal events before it (tempo map kept). Taught in ``notebooks/03_genre_classifier.ipynb``."""
    cut = int(round(beats * perf.ticks_per_quarter))
    notes = perf.notes[perf.notes["start"] < cut].copy()
    notes["end"] = np.minimum(notes["end"], cut)
    return dataclasses.replace(perf, notes=notes, controls=perf.controls[perf.controls["tick"] < cut])


def channels(perf: Performance, layout: Layout = KEYS_ONLY) -> np.ndarray:
    """The two input channels of a piece, compact. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        perf: the piece.
        layout: the roll's columns.

    Returns:
        (steps, 2 * columns) uint8: held (0 or 1), then velocity (0-127) at onsets.
    """
    roll = piano_roll(perf, layout)
    return np.concatenate([roll.held, roll.velocity], axis=1)


def as_features(channels_: np.ndarray) -> np.ndarray:
    """:func:`channels` (of a piece or of windows) as the model's float32 input: velocity scaled by 1/127."""
    columns = channels_.shape[-1] // 2
    return channels_.astype(np.float32) * np.repeat(np.array([1.0, 1 / 127], np.float32), columns)


def features(perf: Performance, layout: Layout = KEYS_ONLY) -> np.ndarray:
    """The two input channels of a piece. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        perf: the piece.
        layout: the roll's columns.

    Returns:
        (steps, 2 * columns) float32: held, then velocity / 127 at onsets.
    """
    return as_features(channels(perf, layout))


def windows(feat: np.ndarray, length: int, hop: int | None = None) -> np.ndarray:
    """Cut features into windows. Taught in ``notebooks/03_genre_classifier.ipynb``.

    The last window is aligned to the piece's end (overlapping its neighbour) rather than padded
    with silence the model never saw in training; a piece shorter than ``length`` gives one
    zero-padded window.

    Args:
        feat: (steps, C) features.
        length: steps per window.
        hop: steps between window starts (default ``length``).

    Returns:
        (n, length, C) windows.
    """
    hop = hop or length
    if len(feat) <= length:
        return segments(feat, length, hop, pad=True)
    starts = np.arange(0, len(feat) - length + 1, hop)
    if starts[-1] != len(feat) - length:
        starts = np.append(starts, len(feat) - length)
    return feat[starts[:, None] + np.arange(length)[None, :]]


def transpose(batch: np.ndarray, shift: np.ndarray, keys: int, columns: int) -> np.ndarray:
    """Shift the key columns of windows. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        batch: (n, length, channels * columns) windows.
        shift: semitones for each window (zeros enter; pedal columns stay).
        keys: key columns of each channel block.
        columns: columns of each channel block (keys, then pedals).

    Returns:
        The shifted windows, a new array.
    """
    out = np.zeros_like(batch)
    for i, s in enumerate(shift):
        for c0 in range(0, batch.shape[2], columns):  # each channel block
            block, dst = batch[i, :, c0 : c0 + keys], out[i, :, c0 : c0 + keys]
            if s > 0:
                dst[:, s:] = block[:, :-s]
            elif s < 0:
                dst[:, :s] = block[:, -s:]
            else:
                dst[:] = block
            out[i, :, c0 + keys : c0 + columns] = batch[i, :, c0 + keys : c0 + columns]
    return out


def layout_of(name: str) -> Layout:
    """The layout of a ``musicstyle train classifier --layout`` name.

    Args:
        name: ``keys`` (:data:`KEYS_ONLY`) or ``paper`` (the paper's 59 columns).

    Returns:
        The :class:`~musicstyle.core.roll.Layout`.
    """
    return {"keys": KEYS_ONLY, "paper": PAPER}[name]


def epoch_windows(chans: list[np.ndarray], labels: np.ndarray, length: int, rng, layout: Layout,
                  augment: bool):
    """One epoch's training examples, built batch by batch. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Every window of every piece, from a random offset per piece (pieces longer than two windows),
    each transposed by a random shift when ``augment``. Only the pieces' compact :func:`channels`
    stay in memory; each batch of float32 windows is made when the trainer feeds it.

    Args:
        chans: each piece's :func:`channels`.
        labels: each piece's label (index in :data:`CLASSES`).
        length: steps per window.
        rng: the epoch's ``numpy`` random generator.
        layout: the channels' columns.
        augment: transpose the keys by up to :data:`MAX_SHIFT` semitones.

    Returns:
        :class:`~musicstyle.training.trainer.Examples` of (n, length, C) float32 windows and (n, 1) labels.
    """
    from ..training.trainer import Examples

    index = []
    for i, f in enumerate(chans):
        offset = int(rng.integers(0, length)) if len(f) > 2 * length else 0
        starts = np.arange(offset, max(len(f) - length, 0) + 1, length) if len(f) > length else np.array([0])
        index += [(i, int(s)) for s in starts]
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, len(index)) if augment else None

    def take(order: np.ndarray):
        x = np.zeros((len(order), length, chans[0].shape[1]), np.uint8)
        for j, k in enumerate(order):
            i, s = index[k]
            w = chans[i][s : s + length]
            x[j, : len(w)] = w
        x = as_features(x)
        if augment:
            x = transpose(x, shifts[order], layout.keys, layout.columns)
        return x, labels[[index[k][0] for k in order]][:, None]

    return Examples(len(index), take)


def tpd_pieces(data=None, split: str = "all") -> tuple[list, object]:
    """The classical and jazz pieces of one side of the split. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        data: a folder with ``classical/`` and ``jazz/`` (default: TPD, found as usual).
        split: ``all``, ``train``, ``validation`` or ``test`` (seed :data:`musicstyle.data.SPLIT_SEED`).

    Returns:
        ``(pieces, collection)``: the side's pieces and the whole loaded collection.
    """
    from ..data import load_dataset, select

    collection = load_dataset("tpd", data, quick=False, progress=False)
    if not collection.pieces:
        raise MusicstyleError(collection.root, "no readable MIDI files in classical/ or jazz/")
    return select(collection, split), collection
