"""The token models' data: each genre's files, its piece-level split, token lists and training windows.

Taught in ``notebooks/06_note_lstm.ipynb``. Each model trains on every training file of its genre
(music21 parses each file once: :mod:`.cache`); quick mode uses a handful (:data:`QUICK_FILES`).
"""

from __future__ import annotations

import functools
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from ..core.inputs import input_folder
from ..data import SOURCES, SPLIT_SEED, check_group, find, midi_files, rank, recording_group, split_names
from ..errors import MusicstyleError
from .cache import TOKEN_CACHE_VERSION, tokenize_files
from .shipped import write_tables
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
        data: a folder holding ``tpd/`` and ``pop909/``, the dataset, a folder holding one named after the
            genre (``pop/``), or the genre's files (default: found as every dataset is, :func:`musicstyle.data.find`).

    Returns:
        The folder: the first of ``DATA/tpd/jazz`` (or ``DATA/pop909``), ``DATA/jazz``, ``DATA`` (for TPD)
        holding MIDI files at any depth, else ``DATA`` itself when it holds MIDI files at any depth and no folder
        named after a genre or dataset; a folder holding other genres' or datasets' folders but not this genre's
        is refused, naming them.
    """
    if genre not in GENRE_SOURCES:
        raise MusicstyleError(genre, f"unknown genre (choose from {', '.join(GENRE_SOURCES)})")
    name, sub = GENRE_SOURCES[genre]
    if data is not None:
        root = input_folder(data)  # there, and a folder, as every --data is checked
        try:
            nested = dict.fromkeys(c for c in (root / name / sub, root / genre, root / sub) if c != root)
            for cand in nested:
                if cand.is_dir() and next(iter(midi_files(cand)), None) is not None:
                    return cand
            # else the genre's own files, unless the folder holds other genres' or datasets' folders
            others = {n.lower() for n in (*GENRE_SOURCES, *(s for s, _ in GENRE_SOURCES.values()))}
            held = sorted(f"{p.name}/" for p in root.iterdir() if p.is_dir() and p.name.lower() in others)
            if not held and next(iter(midi_files(root)), None) is not None:
                return root
        except OSError as err:  # a folder that cannot be entered or listed
            raise MusicstyleError.unreadable(root, err) from None
        wanted = " or ".join(f"{c.relative_to(root).as_posix()}/" for c in nested)
        raise MusicstyleError(root, f"no {genre} MIDI files found" + (f" (it holds {', '.join(held)} but no {wanted} "
                                                                       "folder with MIDI files)" if held else ""))
    root = find(name)
    if root is None:
        raise MusicstyleError(name, "dataset not found (set MUSICSTYLE_DATA or pass --data)")
    return root / sub if sub else root


def split_files(genre: str, data: str | Path | None = None, counts: dict | None = None,
                hold_out: str | None = None) -> dict[str, list[Path]]:
    """The piece-level split of a genre's files, each side optionally cut to a fixed subset.

    Taught in ``notebooks/06_note_lstm.ipynb``. The split is :func:`musicstyle.data.split_names`
    under :data:`musicstyle.data.SPLIT_SEED`; a side's subset is its first files by hash rank.
    With ``hold_out`` (a recording-source group, :data:`musicstyle.data.GROUPS`) the group's
    files leave every side and form a ``held-out`` side (a leave-group-out figure).

    Args:
        genre: see :func:`genre_folder`.
        data: see :func:`genre_folder`.
        counts: files kept per side (``{"train": 40, ...}``; None: all).
        hold_out: a group to hold out, or None.

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}`` paths (and ``held-out``).
    """
    folder = genre_folder(genre, data)
    files = [p for _, p in midi_files(folder)]  # at any depth, as every other command reads a folder
    by_name = {p.relative_to(folder).as_posix(): p for p in files}  # a file's name in the split: its path in the folder
    names = list(by_name)
    out = {}
    for side, chosen in split_names(names, [genre] * len(names), seed=SPLIT_SEED).items():
        chosen = sorted(chosen, key=rank)
        if counts is not None and counts.get(side) is not None:
            chosen = chosen[: counts[side]]
        out[side] = [by_name[n] for n in chosen]
    if check_group(hold_out) is not None:
        groups = file_groups([p for side in out.values() for p in side])
        out = {side: [p for p in paths if groups[p] != hold_out] for side, paths in out.items()}
        held = (p for p, g in groups.items() if g == hold_out)
        out["held-out"] = sorted(held, key=lambda p: rank(p.relative_to(folder).as_posix()))  # as the split names them
    return out


def file_groups(paths) -> dict[Path, str]:
    """The recording-source group (:func:`musicstyle.data.recording_group`) of each MIDI file.

    Taught in ``notebooks/06_note_lstm.ipynb``. Only for splitting: no model reads it.

    Args:
        paths: MIDI files.

    Returns:
        ``{path: group}``; a file the MIDI reader refuses, or that is gone, is ``unreadable``.
    """
    out = {}
    for p in paths:
        try:
            stat = Path(p).stat()
        except OSError:
            out[p] = "unreadable"
            continue
        out[p] = _group_of(str(p), stat.st_mtime_ns, stat.st_size)
    return out


@functools.lru_cache(maxsize=None)
def _group_of(path: str, mtime_ns: int, size: int) -> str:
    """One file's group, read once per process while the file is unchanged (a token run splits twice)."""
    from ..core.midi import read_midi

    try:
        return recording_group(read_midi(path))
    except MusicstyleError:
        return "unreadable"


def genre_tokens(
    genre: str, data: str | Path | None = None, rich: bool = False, quick: bool | None = None, progress: bool = True,
    hold_out: str | None = None,
) -> dict[str, list[list[str]]]:
    """Token lists of a genre's files, per side of the piece-level split.

    Taught in ``notebooks/06_note_lstm.ipynb``. Files music21 cannot read are left out (and
    reported on stderr).

    Args:
        genre, data: see :func:`genre_folder`.
        rich: rich tokens instead of the tutorial's.
        quick: only :data:`QUICK_FILES` files per side (default: quick mode).
        progress: show music21's progress bar.
        hold_out: see :func:`split_files`.

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}`` token lists (and ``held-out``).
    """
    from ..settings import quick_mode

    quick = quick_mode() if quick is None else quick
    parts = split_files(genre, data, QUICK_FILES if quick else None, hold_out)
    every = [p for paths in parts.values() for p in paths]
    table, skipped = tokenize_files(every, progress=progress)
    for path, reason in skipped.items():
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return {side: [tokens(table[str(p)], rich) for p in paths if str(p) in table] for side, paths in parts.items()}


def held_out_tokens(genre: str, data: str | Path | None = None, side: str = "test", rich: bool = False,
                    progress: bool = True, hold_out: str | None = None) -> tuple[list[list[str]], dict[str, str]]:
    """Token lists of the held-out pieces a genre's model is measured on.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        genre, data: see :func:`genre_folder`.
        side: ``test``, ``validation`` or (with ``hold_out``) ``held-out``.
        rich: rich tokens instead of the tutorial's.
        progress: show music21's progress bar.
        hold_out: see :func:`split_files`.

    Returns:
        ``(token lists, skipped: reason by path string)``.
    """
    parts = split_files(genre, data, hold_out=hold_out)
    if side not in parts:
        raise MusicstyleError(side, "the held-out side needs a group to hold out (--hold-out)")
    table, skipped = tokenize_files(parts[side], progress=progress)
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
    folder, passed_over = Path(folder), []
    try:
        if folder.is_file():
            files = [folder]
        elif folder.is_dir():
            files = [p for _, p in midi_files(folder, unreadable=passed_over)]
        else:
            raise MusicstyleError(folder, "no such file or folder")
    except OSError as err:  # a folder on the way that cannot be entered
        raise MusicstyleError.unreadable(folder, err) from None
    if not files and not passed_over:
        raise MusicstyleError(folder, "no MIDI files (.mid, .midi) in this folder")
    table, skipped = tokenize_files(files, progress=progress)
    skipped.update({str(p): reason for p, reason in passed_over})  # named, as the other evaluate commands do
    if not table:
        first = next(iter(skipped.items()))
        raise MusicstyleError(first[0], f"no file could be tokenized ({first[1]})")
    return [tokens(e, rich) for e in table.values()], skipped


def tokenize_all(data: str | Path | None = None, out: str | Path | None = None, workers: int | None = None,
                 cache: bool = True, progress: bool = True) -> dict:
    """Every file of every genre (TPD and POP909) through the tokenizer, in parallel, timed.

    Taught in ``notebooks/06_note_lstm.ipynb`` (``musicstyle tokenize``). With ``out``, the tables
    are written as the package's shipped tables (:mod:`.shipped`), the datasets' credits inside.

    Args:
        data: see :func:`genre_folder`.
        out: the ``.npz`` to write the tables to (None: only the cache).
        workers: parallel music21 processes (default: every core).
        cache: read the caches and shipped tables (False: parse every file again).
        progress: show music21's progress bar.

    Returns:
        ``files``, ``tokenized``, ``elements``, ``seconds``, ``skipped`` (how many files could not be tokenized)
        and, if any, ``skipped_files`` (the reason for each, by path).
    """
    t0 = time.perf_counter()
    passed_over: list = []
    files = [p for g in GENRE_SOURCES for _, p in midi_files(genre_folder(g, data), unreadable=passed_over)]
    table, skipped = tokenize_files(files, workers, progress, cache)
    skipped.update({str(p): reason for p, reason in passed_over})
    result = {"files": len(files), "tokenized": len(table), "elements": int(sum(len(e) for e in table.values())),
              "seconds": round(time.perf_counter() - t0, 1), "skipped": len(skipped),
              **({"skipped_files": skipped} if skipped else {})}
    if out is not None:
        by_digest = {hashlib.sha256(Path(p).read_bytes()).hexdigest(): e for p, e in table.items()}
        credits = "; ".join(f"{name}: {SOURCES[name].licence}" for name in ("tpd", "pop909"))
        write_tables(by_digest, out, credits, TOKEN_CACHE_VERSION)
    return result


def windows(ids_list: list, window: int, hop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training windows: every position predicts the next token.

    Taught in ``notebooks/06_note_lstm.ipynb``. With hop ``window`` each token of a piece's full
    windows is a target once (the tail after the last full window is not); pieces shorter than a
    window are padded. Padding and ``<unk>`` targets weigh 0 (no predictor
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
