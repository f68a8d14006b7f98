"""``musicstyle bench tokens``: music21 tokenization cold in parallel, cached, and plain sequential.

Taught in ``notebooks/06_note_lstm.ipynb``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from unittest import mock

from ..data import find, midi_files, sha256_file
from ..errors import MusicstyleError
from ..tokens import tokenize_files, tokens, tutorial_tokens
from ..tokens.cache import is_cached
from ..tokens.shipped import shipped_tables


def dataset_files(data: str | Path | None = None) -> list[Path]:
    """Every MIDI file of TPD (classical, jazz) and POP909 (timed in ``notebooks/06_note_lstm.ipynb``).

    Args:
        data: a folder holding ``tpd/`` and ``pop909/`` (default: found as usual).

    Returns:
        The files, dataset by dataset, sorted.
    """
    files = []
    for name, subs in (("tpd", ("classical", "jazz")), ("pop909", ())):
        root = Path(data) / name if data else find(name)
        if root is None or not root.is_dir():
            raise MusicstyleError(name, "dataset not found (set MUSICSTYLE_DATA or pass --data)")
        files += [p for _, p in midi_files(root, subs)]
    return files


def bench_tokens(data: str | Path | None = None, files: int = 10, repeats: int = 2) -> dict:
    """Tokenize TPD + POP909 cold in parallel, cached, and with plain sequential music21.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Cold (cache off: music21 parses every file, in a process pool over every core, writing to a
    temporary cache) and sequential (``converter.parse`` + the tutorial loop) run on the same
    ``files`` files spread over the datasets, alternated ``repeats`` times (the best of each, as
    the machine is shared and noisy), scaled to all files. Cached reads every file whose table is
    cached (shipped with the package or in the user cache), the shipped tables opened as in a
    fresh process, scaled likewise when not all are. The tokens of both music21 routes are checked
    to be identical.

    Args:
        data: a folder holding ``tpd/`` and ``pop909/`` (default: found as usual).
        files: files parsed cold and sequentially.
        repeats: runs of each.

    Returns:
        The figures as a dict (seconds, counts, ``speedup_parallel``, ``identical_tokens``;
        ``cached_s`` None when no file is cached).
    """
    import music21.converter  # noqa: F401  (import time counted for neither side)
    import music21.midi.translate  # noqa: F401

    every = dataset_files(data)
    subset = every[:: max(1, len(every) // max(1, files))][:files]
    colds, seqs = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, {"MUSICSTYLE_CACHE": tmp}):
            t0 = time.perf_counter()
            table, skipped = tokenize_files(subset, progress=False, cache=False)
            colds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain = [tutorial_tokens(p) for p in subset]
        seqs.append(time.perf_counter() - t0)
    cold, sequential = min(colds), min(seqs)
    same = all(str(p) in table and list(table[str(p)].token) == toks for p, toks in zip(subset, plain))
    cached_files = [p for p in every if is_cached(sha256_file(p))]
    tokenize_files(cached_files, progress=False)  # writes the bundle of these files if missing
    shipped_tables.cache_clear()  # opened again in the timed run, as a fresh process opens it
    t0 = time.perf_counter()
    table, _ = tokenize_files(cached_files, progress=False)
    n_tokens = sum(len(tokens(e)) for e in table.values())
    cached = time.perf_counter() - t0
    scale = len(every) / len(subset)
    return {
        "files": len(every),
        "cold_files_timed": len(subset),
        "workers": os.cpu_count(),
        "cold_parallel_s": round(cold * scale, 1),
        "sequential_music21_s": round(sequential * scale, 1),
        "speedup_parallel": round(sequential / cold, 2),
        "runs_cold_s": [round(x, 1) for x in colds],
        "runs_sequential_s": [round(x, 1) for x in seqs],
        "identical_tokens": bool(same and not skipped),
        "cached_files_timed": len(cached_files),
        "cached_tokens": n_tokens,
        "cached_s": round(cached * len(every) / len(cached_files), 2) if cached_files else None,
        "scaled": len(subset) < len(every) or len(cached_files) < len(every),
        "note": "cold (cache off: music21 parses each file, in a process pool) and sequential (converter.parse, music21's "
        "own pickle cache off) timed on cold_files_timed files, best of the runs; cached (the tables read from the "
        "shipped file, opened anew, or the user cache) on cached_files_timed files, those cached; each scaled to all files",
    }
