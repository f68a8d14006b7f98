"""Pieces of a folder: every MIDI file read once, cached, with every file that could not be read or needed repairs.

Taught in ``notebooks/01_data_exploration.ipynb``. Parsed pieces are cached as one ``.npz`` per set
of files (keyed by their contents) through :mod:`musicstyle.data.cache`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from ..core.midi import CC_DTYPE, NOTE_DTYPE, TEMPO_DTYPE, Performance, read_midi
from ..errors import MusicstyleError
from ..settings import quick_mode
from .cache import cache_path, load_npz, save_cache
from .sources import GENRES, midi_files
from .split import SPLIT_SEED, quick_subset, split_names

CACHE_VERSION = 4  # 2: repaired files are kept with their repairs; 3: and every piece its unreleased count and SMPTE timing; 4: a unison held until its last release


@dataclass
class Piece:
    """A parsed piece with where it came from (``path`` relative to its collection's ``root``). Functions that
    take a piece as a Performance, bytes or a path take one of these too (:func:`musicstyle.core.midi.as_performance`)."""

    name: str
    genre: str | None
    path: str  # relative to the collection's root
    performance: Performance


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class Repaired:
    """A file that was read with repairs (kind -> count, see :data:`musicstyle.core.midi.REPAIRS`)."""

    path: str
    repairs: dict


@dataclass
class Collection:
    """Pieces of one folder, with every file that could not be read and why, and every file repaired."""

    root: str
    pieces: list[Piece]
    skipped: list[Skipped] = field(default_factory=list)
    repaired: list[Repaired] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pieces)

    def genre(self, genre: str) -> list[Piece]:
        return [p for p in self.pieces if p.genre == genre]

    def split(self, seed: int = SPLIT_SEED, test: float = 0.1, validation: float = 0.1) -> dict[str, list[Piece]]:
        """Piece-level train/validation/test split; see :func:`musicstyle.data.split.split_names`."""
        parts = split_names([p.path for p in self.pieces], [p.genre for p in self.pieces], seed, test, validation)
        side = {path: k for k, paths in parts.items() for path in paths}
        return {k: [p for p in self.pieces if side[p.path] == k] for k in parts}

    def skipped_files(self) -> dict[str, str]:
        """The reason each skipped file was left out, by its path (for a command's output)."""
        return {s.path: s.reason for s in self.skipped}

    def report(self) -> str:
        """One line per skipped file and per repaired file, for the user to read (notebook 01)."""
        lines = [f"skipped {s.path}: {s.reason}" for s in self.skipped]
        lines += [f"repaired {r.path}: {_repairs_text(r.repairs)}" for r in self.repaired]
        return "\n".join(lines)


def _repairs_text(repairs: dict) -> str:
    return ", ".join(f"{kind} x{count}" for kind, count in sorted(repairs.items()))


def pieces_checksum(pieces) -> str:
    """SHA-256 over the sorted content digests of ``pieces``: which data a model was trained on."""
    digests = sorted(p.performance.sha256 for p in pieces)
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def load_folder(folder: str | Path, genres: Iterable[str] = GENRES, subset: list[str] | None = None,
                quick: bool | None = None, cache: bool = True, progress: bool = True) -> Collection:
    """Read every MIDI file under ``folder`` (in ``genres`` subfolders, if given) into pieces.

    Args:
        folder: the dataset's root.
        genres: subfolders to read (empty: every file, no genre).
        subset: keep only these relative paths.
        quick: keep :func:`musicstyle.data.split.quick_subset` (default: ``MUSICSTYLE_QUICK``).
        cache: read and write the parsed-pieces cache.
        progress: show a progress bar.

    Returns:
        A :class:`Collection`; files that cannot be read are in ``skipped`` with the reason (the
        load itself never stops on one), files read with repairs are in ``repaired``.
    """
    from tqdm.auto import tqdm

    folder = Path(folder)
    if not folder.is_dir():
        raise MusicstyleError(folder, "not a folder")
    passed_over: list[tuple[Path, str]] = []
    files = [(g, p, p.relative_to(folder).as_posix()) for g, p in midi_files(folder, genres, passed_over)]
    if quick if quick is not None else quick_mode():
        subset = quick_subset([rel for _, _, rel in files], [g for g, _, _ in files]) if subset is None else subset
    if subset is not None:
        keep = set(subset)
        files = [f for f in files if f[2] in keep]
    unread = [Skipped(p.relative_to(folder).as_posix(), reason) for p, reason in passed_over]
    datas = []
    for g, p, rel in files:
        try:
            datas.append((g, p, rel, p.read_bytes()))
        except OSError as err:  # no permission, gone since listed: named, and the others read
            unread.append(Skipped(rel, f"cannot be read ({err.strerror or err})"))
    digests = [hashlib.sha256(d).hexdigest() for *_, d in datas]
    key = hashlib.sha256("\n".join([str(CACHE_VERSION)] + [f"{rel}\t{g}\t{h}" for (g, _, rel, _), h in zip(datas, digests)]
                                   + [f"{s.path}\tunread\t{s.reason}" for s in unread]).encode()).hexdigest()[:24]
    cache_file = cache_path("parsed", f"pieces-{key}.npz")
    arrays = load_npz(cache_file) if cache else None
    if arrays is not None:
        return _from_arrays(arrays, folder)
    pieces, skipped = [], list(unread)
    parsed = _parse_all([(data, p.stem) for _, p, _, data in datas])
    for (g, p, rel, _), perf in tqdm(zip(datas, parsed), total=len(datas), desc=f"parse {folder.name}", unit="file",
                                     disable=not progress):
        if isinstance(perf, str):
            skipped.append(Skipped(rel, perf))
            continue
        perf.source = str(p)
        pieces.append(Piece(p.stem, g, rel, perf))
    repaired = [Repaired(piece.path, piece.performance.repairs) for piece in pieces if piece.performance.repairs]
    collection = Collection(str(folder), pieces, skipped, repaired)
    if cache:
        save_cache(cache_file, _to_arrays(collection))
    return collection


def _parse_one(item: tuple[bytes, str]) -> Performance | str:
    """A parsed piece, or the reason it could not be read."""
    try:
        return read_midi(item[0], name=item[1])
    except MusicstyleError as err:
        return err.reason


def _parse_all(items: list[tuple[bytes, str]]) -> Iterable[Performance | str]:
    """Parse in forked worker processes, one per core, when there is enough to share.

    Forking is fast and works from notebooks and scripts alike, but is unsafe once TensorFlow has
    started its threads: then (and off Linux) files are parsed in this process.
    """
    import multiprocessing
    import sys

    workers = min(os.cpu_count() or 1, 8)
    forkable = "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux"
    if workers < 2 or len(items) < 32 or not forkable or "tensorflow" in sys.modules:
        return map(_parse_one, items)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_parse_one, items, chunksize=max(1, len(items) // (workers * 8))))


def _to_arrays(c: Collection) -> dict:
    perfs = [p.performance for p in c.pieces]
    arrays = {
        "names": np.array([p.name for p in c.pieces], dtype=str),
        "genres": np.array([p.genre or "" for p in c.pieces], dtype=str),
        "paths": np.array([p.path for p in c.pieces], dtype=str),
        "sha256": np.array([q.sha256 for q in perfs], dtype=str),
        "tpq": np.array([q.ticks_per_quarter for q in perfs], dtype=np.int64),
        "skipped_paths": np.array([s.path for s in c.skipped], dtype=str),
        "skipped_reasons": np.array([s.reason for s in c.skipped], dtype=str),
        "repairs": np.array([",".join(f"{k}={v}" for k, v in sorted(q.repairs.items())) for q in perfs], dtype=str),
        "unreleased": np.array([q.unreleased for q in perfs], dtype=np.int64),
        "smpte": np.array([q.smpte or (0, 0) for q in perfs], dtype=np.int64).reshape(-1, 2),  # (0, 0): not SMPTE
    }
    for key, dtype in (("notes", NOTE_DTYPE), ("controls", CC_DTYPE), ("tempos", TEMPO_DTYPE)):
        parts = [getattr(q, key) for q in perfs]
        arrays[key] = np.concatenate(parts) if parts else np.zeros(0, dtype)
        arrays[f"{key}_count"] = np.array([len(x) for x in parts], dtype=np.int64)
    return arrays


def _from_arrays(a: dict, folder: Path) -> Collection:
    split = {}
    for key in ("notes", "controls", "tempos"):
        split[key] = np.split(a[key], np.cumsum(a[f"{key}_count"])[:-1]) if len(a[f"{key}_count"]) else []
    pieces = []
    for i, name in enumerate(a["names"]):
        rel = str(a["paths"][i])
        repairs = {k: int(v) for k, v in (kv.split("=") for kv in str(a["repairs"][i]).split(",") if kv)}
        smpte = tuple(int(x) for x in a["smpte"][i])
        perf = Performance(name=str(name), ticks_per_quarter=int(a["tpq"][i]), notes=split["notes"][i],
                           controls=split["controls"][i], tempos=split["tempos"][i], source=str(folder / rel),
                           sha256=str(a["sha256"][i]), repairs=repairs, unreleased=int(a["unreleased"][i]),
                           smpte=smpte if any(smpte) else None)
        pieces.append(Piece(str(name), str(a["genres"][i]) or None, rel, perf))
    skipped = [Skipped(str(p), str(r)) for p, r in zip(a["skipped_paths"], a["skipped_reasons"])]
    repaired = [Repaired(p.path, p.performance.repairs) for p in pieces if p.performance.repairs]
    return Collection(str(folder), pieces, skipped, repaired)
