"""The music21 element tables of files, cached and parsed in parallel.

Taught in ``notebooks/06_note_lstm.ipynb``. Each file's table is cached as ``.npz`` (never pickle,
through :func:`musicstyle.data.cache.save_npz`) under ``<cache>/tokens/``, keyed by the SHA-256
of the file's bytes, so an unchanged file is never parsed again; a file music21 cannot read is
remembered with its reason. A whole dataset is parsed by a pool of processes, one per core, with a
progress bar, and a set of many files is also bundled into one ``.npz`` (one file to open).
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..data.cache import cache_path, load_npz, save_cache, save_npz, warn_uncached, writable_folder
from ..errors import MusicstyleError
from .shipped import shipped_tables
from .tokenizer import Elements, parse_elements

#: Bump when the element table changes: old cache files are then ignored.
TOKEN_CACHE_VERSION = 1
#: Sets of at least this many files are also cached as one bundle.
BUNDLE_FILES = 16
_FIELDS = ("track", "offset", "duration", "start", "pitches", "token")


def cache_file(digest: str) -> Path:
    """Where the element table of a file is cached.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        digest: the hex SHA-256 of the file's bytes.

    Returns:
        The ``.npz`` path (present once the file was parsed).
    """
    return cache_path("tokens", f"m21-v{TOKEN_CACHE_VERSION}-{digest}.npz")


def is_cached(digest: str) -> bool:
    """Whether a file's element table is at hand without music21: shipped with the package or in the user cache.

    Args:
        digest: the hex SHA-256 of the file's bytes.

    Returns:
        True when :func:`tokenize_files` (cache on) reads the table instead of parsing the file.
    """
    return digest in shipped_tables(TOKEN_CACHE_VERSION) or cache_file(digest).is_file()


def _fail_file(digest: str) -> Path:
    return cache_path("tokens", f"m21-v{TOKEN_CACHE_VERSION}-{digest}.failed.npz")


def _bundle_file(digests) -> Path:
    key = hashlib.sha256("\n".join(sorted(set(digests))).encode()).hexdigest()[:24]
    return cache_path("tokens", f"bundle-v{TOKEN_CACHE_VERSION}-{key}.npz")


def _arrays(e: Elements) -> dict:
    return {**{k: getattr(e, k) for k in _FIELDS}, "track_names": np.asarray(e.track_names, dtype=str)}


def _load(path: Path, name: str) -> Elements | None:
    z = load_npz(path)
    if z is None:
        return None
    return Elements(name, *(z[k] for k in _FIELDS), [str(s) for s in z["track_names"]])


def _parse_to_cache(item: tuple[bytes, str, str]) -> str | None:
    """Worker: parse ``(bytes, name, cache file)`` and write the cache file the caller named (a forkserver's
    worker does not see the caller's environment as it is now); returns the reason on failure, None on success."""
    data, name, target = item
    try:
        save_npz(target, _arrays(parse_elements(data, name)))
    except MusicstyleError as err:
        return err.reason
    return None


def _save_bundle(path: Path, tables: dict[str, Elements]) -> None:
    """Many element tables in one ``.npz``: their arrays concatenated, with the lengths to cut them."""
    items = list(tables.values())
    arrays = {k: np.concatenate([getattr(e, k) for e in items]) for k in _FIELDS if k != "start"}
    save_cache(path, {
        **arrays,
        "digest": np.asarray(list(tables), dtype=str),
        "n_el": np.asarray([len(e) for e in items], np.int64),
        "n_p": np.asarray([len(e.pitches) for e in items], np.int64),
        "names": np.asarray(["\x1f".join(e.track_names) for e in items], dtype=str),
        "start": np.concatenate([e.start[:-1] for e in items]),
    })


def _load_bundle(path: Path) -> dict[str, Elements]:
    z = load_npz(path)
    if z is None:
        return {}
    out = {}
    e0 = np.concatenate([[0], np.cumsum(z["n_el"])])
    p0 = np.concatenate([[0], np.cumsum(z["n_p"])])
    for i, d in enumerate(z["digest"]):
        a, b, pa, pb = e0[i], e0[i + 1], p0[i], p0[i + 1]
        start = np.concatenate([z["start"][a:b], [pb - pa]]).astype(np.int64)
        out[str(d)] = Elements("", z["track"][a:b], z["offset"][a:b], z["duration"][a:b], start, z["pitches"][pa:pb],
                               z["token"][a:b], str(z["names"][i]).split("\x1f"))
    return out


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise MusicstyleError(path, f"cannot read ({err.strerror or err})") from None


def elements(path: str | Path, data: bytes | None = None) -> Elements:
    """The cached element table of one file, parsing it (music21) only on a cache miss.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        path: a MIDI file.
        data: its bytes, when already read.

    Returns:
        The table, named after the file's stem.
    """
    path = Path(path)
    data = _read(path) if data is None else data
    digest = hashlib.sha256(data).hexdigest()
    cached = cache_file(digest)
    e = _load(cached, path.stem)
    if e is None and (e := shipped_tables(TOKEN_CACHE_VERSION).get(digest)) is not None:
        e = replace(e, name=path.stem)
    if e is None:
        e = parse_elements(data, str(path))
        save_cache(cached, _arrays(e))
        e.name = path.stem
    return e


def _pool_context():
    import multiprocessing

    # fork is fast, but unsafe once TensorFlow has started threads: then use forkserver/spawn
    if sys.platform == "linux" and "tensorflow" not in sys.modules:
        return multiprocessing.get_context("fork")
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _parse_all(items: list, workers: int, progress: bool) -> list[str | None]:
    """Parse and cache ``(bytes, name, cache file)`` items, in a process pool when worth it; their failure reasons."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    reasons: list[str | None] = [None] * len(items)
    bar = tqdm(total=len(items), desc="music21", unit="file", disable=not progress)
    if workers > 1 and len(items) > 1:
        import music21.midi.translate  # noqa: F401  (imported once here, inherited by forked workers)

        with ProcessPoolExecutor(min(workers, len(items)), mp_context=_pool_context()) as pool:
            futures = {pool.submit(_parse_to_cache, it): i for i, it in enumerate(items)}
            for fut in as_completed(futures):
                reasons[futures[fut]] = fut.result()
                bar.update()
    else:
        for i, it in enumerate(items):
            reasons[i] = _parse_to_cache(it)
            bar.update()
    bar.close()
    return reasons


def _parse_here(todo: list, progress: bool) -> tuple[dict[str, Elements], dict[str, str]]:
    """Parse ``(path, bytes, digest)`` items in this process, without a cache: (tables, failure reasons) by digest."""
    from tqdm.auto import tqdm

    tables, failed = {}, {}
    for p, data, digest in tqdm(todo, desc="music21", unit="file", disable=not progress):
        try:
            tables[digest] = parse_elements(data, str(p))
        except MusicstyleError as err:
            failed[digest] = err.reason
    return tables, failed


def tokenize_files(
    paths, workers: int | None = None, progress: bool = True, cache: bool = True
) -> tuple[dict[str, Elements], dict[str, str]]:
    """Element tables of many files: cached ones loaded, the rest parsed in parallel and cached.

    Taught in ``notebooks/06_note_lstm.ipynb``. Each file is cached by the SHA-256 of its bytes
    (failures too, with their reason); a set of :data:`BUNDLE_FILES` or more files is also bundled
    into one ``.npz``, so loading a whole cached dataset opens one file. The public datasets' files
    are found in the tables shipped with the package (:mod:`.shipped`) and never parsed.

    Args:
        paths: MIDI files.
        workers: parallel music21 processes (default: every core); the longest files go first.
        progress: show a progress bar while parsing.
        cache: read the caches and the shipped tables (parsed tables are written either way).

    Returns:
        ``(elements by path string, skipped: reason by path string)``.
    """
    skipped: dict[str, str] = {}
    read = []
    for p in map(Path, paths):
        try:
            data = _read(p)
        except MusicstyleError as err:
            skipped[str(p)] = err.reason
            continue
        read.append((p, data, hashlib.sha256(data).hexdigest()))
    bundle = _bundle_file([d for *_, d in read]) if len(read) >= BUNDLE_FILES else None
    by_digest = _load_bundle(bundle) if cache and bundle is not None else {}
    shipped = shipped_tables(TOKEN_CACHE_VERSION) if cache else {}
    todo, unshipped = [], 0  # files the shipped tables lack (only those need a bundle)
    for p, data, digest in read:
        if digest in by_digest:
            continue
        if digest in shipped:
            by_digest[digest] = shipped[digest]
            continue
        unshipped += 1
        if cache and cache_file(digest).is_file():
            e = _load(cache_file(digest), p.stem)
            if e is not None:
                by_digest[digest] = e
                continue
        if not (cache and _fail_file(digest).is_file()):
            todo.append((p, data, digest))
    failed: dict[str, str] = {}  # reason by digest, when no cache keeps it
    if todo:
        try:
            writable_folder(cache_path("tokens"))  # the workers hand their tables over through it
        except MusicstyleError as err:
            warn_uncached(err.source, err.reason)
            tables, failed = _parse_here(todo, progress)
            by_digest.update(tables)
            todo = []
    if todo:
        todo.sort(key=lambda t: -len(t[1]))  # longest first: workers finish together
        reasons = _parse_all([(data, str(p), str(cache_file(digest))) for p, data, digest in todo],
                             workers or os.cpu_count() or 1, progress)
        for (p, _, digest), reason in zip(todo, reasons):
            if reason is not None:
                save_npz(_fail_file(digest), {"path": np.asarray(str(p)), "reason": np.asarray(reason)})
            elif (e := _load(cache_file(digest), p.stem)) is not None:
                by_digest[digest] = e
    out = {}
    for p, _, digest in read:
        if digest in by_digest:
            out[str(p)] = replace(by_digest[digest], name=p.stem)
        elif digest in failed:
            skipped[str(p)] = failed[digest]
        else:
            reason = load_npz(_fail_file(digest))
            skipped[str(p)] = str(reason["reason"]) if reason is not None else "not parsed"
    if cache and bundle is not None and unshipped and (todo or not bundle.is_file()) and by_digest:
        _save_bundle(bundle, {d: by_digest[d] for _, _, d in read if d in by_digest})
    return out, skipped
