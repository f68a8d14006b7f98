"""The token models' data: each genre's files, its piece-level split, token lists and training windows.

Taught in ``notebooks/06_note_lstm.ipynb``. Each model trains on every training file of its genre
(music21 parses each file once: :mod:`.cache`); quick mode uses a handful (:data:`QUICK_FILES`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..data import SPLIT_SEED, find, midi_files, rank, split_names
from ..errors import MusicstyleError
from .cache import tokenize_files
from .tokenizer import tokens

#: Genre -> (dataset, subfolder).
GENRE_SOURCES = {"classical": ("tpd", "classical"), "pop": ("pop909", ""), "jazz": ("tpd", "jazz")}
#: Files per side in quick mode: three small jazz files, seconds of music21.
QUICK_FILES = {"train": 2, "validation": 1, "test": 0}


def genre_folder(genre: str, data: str | Path | None = None) -> Path:
    """The folder holding a genre's MIDI files.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        genre: ``classical``, ``jazz`` (TPD) or ``pop`` (POP909).
        data: a folder holding ``tpd/`` and ``pop909/``, the dataset, or the genre's files
            (default: found as every dataset is, :func:`musicstyle.data.find`).

    Returns:
        The folder.
    """
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
    """The piece-level split of a genre's files, each side optionally cut to a fixed subset.

    Taught in ``notebooks/06_note_lstm.ipynb``. The split is :func:`musicstyle.data.split_names`
    under :data:`musicstyle.data.SPLIT_SEED`; a side's subset is its first files by hash rank.

    Args:
        genre: see :func:`genre_folder`.
        data: see :func:`genre_folder`.
        counts: files kept per side (``{"train": 40, ...}``; None: all).

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}`` paths.
    """
    folder = genre_folder(genre, data)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi") and p.is_file())
    names = [p.name for p in files]
    by_name = {p.name: p for p in files}
    out = {}
    for side, chosen in split_names(names, [genre] * len(names), seed=SPLIT_SEED).items():
        chosen = sorted(chosen, key=rank)
        if counts is not None and counts.get(side) is not None:
            chosen = chosen[: counts[side]]
        out[side] = [by_name[n] for n in chosen]
    return out


def genre_tokens(
    genre: str, data: str | Path | None = None, rich: bool = False, quick: bool | None = None, progress: bool = True
) -> dict[str, list[list[str]]]:
    """Token lists of a genre's files, per side of the piece-level split.

    Taught in ``notebooks/06_note_lstm.ipynb``. Files music21 cannot read are left out (and
    reported on stderr).

    Args:
        genre, data: see :func:`genre_folder`.
        rich: rich tokens instead of the tutorial's.
        quick: only :data:`QUICK_FILES` files per side (default: quick mode).
        progress: show music21's progress bar.

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}`` token lists.
    """
    from ..settings import quick_mode

    quick = quick_mode() if quick is None else quick
    parts = split_files(genre, data, QUICK_FILES if quick else None)
    every = [p for side in ("train", "validation", "test") for p in parts[side]]
    table, skipped = tokenize_files(every, progress=progress)
    for path, reason in skipped.items():
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return {side: [tokens(table[str(p)], rich) for p in paths if str(p) in table] for side, paths in parts.items()}


def held_out_tokens(genre: str, data: str | Path | None = None, side: str = "test", rich: bool = False,
                    progress: bool = True) -> tuple[list[list[str]], dict[str, str]]:
    """Token lists of the held-out pieces a genre's model is measured on.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        genre, data: see :func:`genre_folder`.
        side: ``test`` or ``validation``.
        rich: rich tokens instead of the tutorial's.
        progress: show music21's progress bar.

    Returns:
        ``(token lists, skipped: reason by path string)``.
    """
    table, skipped = tokenize_files(split_files(genre, data)[side], progress=progress)
    return [tokens(e, rich) for e in table.values()], skipped


def folder_tokens(folder: str | Path, rich: bool = False, progress: bool = True) -> tuple[list[list[str]], dict[str, str]]:
    """Token lists of every MIDI file in a folder (recursively) or of one file.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        folder: a folder or a MIDI file.
        rich: rich tokens instead of the tutorial's.
        progress: show music21's progress bar.

    Returns:
        ``(token lists, skipped: reason by path string)``; raises :class:`MusicstyleError` when no
        file could be tokenized.
    """
    folder = Path(folder)
    if folder.is_file():
        files = [folder]
    elif folder.is_dir():
        files = [p for _, p in midi_files(folder)]
    else:
        raise MusicstyleError(folder, "no such file or folder")
    if not files:
        raise MusicstyleError(folder, "no MIDI files (.mid, .midi) in this folder")
    table, skipped = tokenize_files(files, progress=progress)
    if not table:
        first = next(iter(skipped.items()))
        raise MusicstyleError(first[0], f"no file could be tokenized ({first[1]})")
    return [tokens(e, rich) for e in table.values()], skipped


def windows(ids_list: list, window: int, hop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training windows: every position predicts the next token.

    Taught in ``notebooks/06_note_lstm.ipynb``. With hop ``window`` each token is a target once;
    pieces shorter than a window are padded. Padding and ``<unk>`` targets weigh 0 (no predictor
    scores on an unknown token).

    Args:
        ids_list: encoded pieces.
        window: tokens per window.
        hop: tokens between window starts (default ``window``).

    Returns:
        ``(inputs, targets, weights)``, each ``(windows, window)``; targets are the inputs shifted by one.
    """
    hop = hop or window
    xs, ys = [], []
    for s in ids_list:
        if len(s) < 2:
            continue
        if len(s) <= window:
            s = np.concatenate([s, np.full(window + 1 - len(s), -1, np.int32)])
        for i in range(0, len(s) - window, hop):
            xs.append(s[i : i + window])
            ys.append(s[i + 1 : i + window + 1])
    if not xs:
        raise MusicstyleError("tokens", "no piece with at least two tokens to train on")
    x, y = np.stack(xs), np.stack(ys)
    return np.maximum(x, 0), np.maximum(y, 0), (y > 0).astype(np.float32)


def epoch_windows(ids_list: list, window: int, rng: np.random.Generator, table: np.ndarray | None = None,
                  last_only: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One epoch's training windows: each piece in a random key, cut from a random start.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        ids_list: encoded training pieces.
        window: tokens per window.
        rng: the epoch's random generator.
        table: :func:`musicstyle.tokens.transposition_table` rows, one drawn per piece (None: as is).
        last_only: instead, this many windows at random starts, only their last target weighted
            (the tutorial's 100 tokens predicting the 101st).

    Returns:
        ``(inputs, targets, weights)`` as :func:`windows`.
    """
    moved = [s if table is None else table[rng.integers(len(table))][s] for s in ids_list if len(s) >= 2]
    if last_only:
        long = [s for s in moved if len(s) > window]
        if not long:
            raise MusicstyleError("tokens", f"no piece longer than {window} tokens to train on")
        sizes = np.asarray([len(s) - window for s in long], np.float64)
        pick = rng.choice(len(long), last_only, p=sizes / sizes.sum())
        starts = [rng.integers(len(long[k]) - window) for k in pick]
        x = np.stack([long[k][i : i + window] for k, i in zip(pick, starts)])
        y = np.stack([long[k][i + 1 : i + window + 1] for k, i in zip(pick, starts)])
        w = np.zeros(y.shape, np.float32)
        w[:, -1] = y[:, -1] > 0
        return x, y, w
    return windows([s[rng.integers(min(window, max(1, len(s) - window))):] for s in moved], window)
