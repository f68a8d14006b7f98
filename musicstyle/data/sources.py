"""Where the public datasets live, how they are downloaded (verified by SHA-256) and found locally.

Taught in ``notebooks/01_data_exploration.ipynb``; sources and licences in ``data/README.md``.

A dataset is looked for in this order: an explicit path, ``$MUSICSTYLE_DATA/<name>``, the user
cache (``<cache>/data/<name>``); where none has it, it is downloaded file by file from its public
source into the user cache, each file checked against the SHA-256 list shipped in the package.
"""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

from ..core.inputs import input_folder
from ..errors import MusicstyleError
from .cache import cache_home, writable_folder

#: The genres of The Piano Dataset (subfolders of its root).
GENRES = ("classical", "jazz")
MIDI_SUFFIXES = (".mid", ".midi")
#: Connection failures, before any download succeeds, that stop a fetch: the source cannot be reached.
UNREACHABLE = 16
NOT_TRIED = "not tried: the source cannot be reached"


@dataclass(frozen=True)
class Source:
    """A public dataset: where its files live and the checksum list shipped with the package."""

    name: str
    base_url: str
    remote_path: Callable[[str], str]
    genres: tuple[str, ...]
    licence: str
    sums: dict[str, str] | None = None  # for sources defined at run time; else the shipped list

    def checksums(self) -> dict[str, str]:
        """Relative path -> expected SHA-256 hex digest."""
        if self.sums is not None:
            return dict(self.sums)
        text = resources.files("musicstyle").joinpath(f"data/{self.name}.sha256").read_text("utf-8")
        pairs = (line.split("  ", 1) for line in text.splitlines() if line.strip())
        return {rel: digest for digest, rel in pairs}

    def url(self, rel: str, base_url: str | None = None) -> str:
        return (base_url or self.base_url).rstrip("/") + "/" + urllib.parse.quote(self.remote_path(rel))


SOURCES = {
    "tpd": Source(
        name="tpd",
        base_url="https://raw.githubusercontent.com/LithiumH/CS230-Music-Style-Transfer/"
        "bc771e92d0a1bd7cbee72c2553790603dd8bfec3/TPD",
        remote_path=lambda rel: rel,
        genres=GENRES,
        licence="CC BY 4.0, The Piano Dataset by Iman Malik and Carl Henrik Ek",
    ),
    "pop909": Source(
        name="pop909",
        base_url="https://raw.githubusercontent.com/music-x-lab/POP909-Dataset/"
        "d83e6edba6872a704f5d3b8b32f5cb540088dae6/POP909",
        remote_path=lambda rel: f"{Path(rel).stem}/{rel}",
        genres=(),
        licence="MIT, POP909 by Ziyu Wang et al.",
    ),
}


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def midi_files(folder: str | Path, genres: Iterable[str] = (),
               unreadable: list[tuple[Path, str]] | None = None) -> Iterable[tuple[str | None, Path]]:
    """Every MIDI file under a folder.

    Args:
        folder: the dataset's root.
        genres: subfolders to look in, one per genre, named in any case (empty: the whole folder, genre None).
        unreadable: where to add ``(path, reason)`` for what is passed over: a folder that cannot be listed,
            a link to a MIDI file that is not there (None: passed over silently).

    Returns:
        An iterator of ``(genre, path)``, sorted by path within each genre.
    """
    folder = Path(folder)

    def midis(d: Path):
        def cannot_list(err: OSError):
            if unreadable is not None:
                unreadable.append((Path(err.filename or d), f"a folder that cannot be listed ({err.strerror or err})"))

        found = []
        for root, _, names in os.walk(d, onerror=cannot_list):  # links to folders are not followed, as rglob
            for p in (Path(root, n) for n in names if Path(n).suffix.lower() in MIDI_SUFFIXES):
                if p.is_file():
                    found.append(p)
                elif unreadable is not None and p.is_symlink() and not p.exists():
                    unreadable.append((p, "a link to a file that is not there"))
        return sorted(found)

    genres = tuple(genres)
    if genres:
        subfolders = sorted(d for d in folder.iterdir() if d.is_dir()) if folder.is_dir() else []
        for g in genres:
            for d in subfolders:
                if d.name.lower() == g:  # jazz/, Jazz/ or JAZZ/
                    yield from ((g, p) for p in midis(d))
    else:
        yield from ((None, p) for p in midis(folder))


def find(name: str, path: str | Path | None = None) -> Path | None:
    """The first folder that holds dataset ``name``: explicit path, ``$MUSICSTYLE_DATA``, user cache.

    Args:
        name: a key of :data:`SOURCES`.
        path: a folder holding the dataset, or holding a ``name`` subfolder.

    Returns:
        The folder, or None when no candidate holds it. An explicit ``path`` is the only place
        looked in: one that does not hold the dataset raises :class:`MusicstyleError`.
    """
    genres = SOURCES[name].genres if name in SOURCES else ()
    if path is not None:  # an explicit folder is the only place looked in
        candidates = [input_folder(path) / name, Path(path)]
    else:
        candidates = [Path(os.environ["MUSICSTYLE_DATA"]).expanduser() / name] if os.environ.get("MUSICSTYLE_DATA") else []
        candidates.append(cache_home() / "data" / name)
    for folder in candidates:
        try:
            if folder.is_dir() and any(midi_files(folder, genres)):
                return folder
        except OSError as err:  # a folder that cannot be entered or listed
            raise MusicstyleError.unreadable(folder, err) from None
    if path is not None:
        if genres:  # a folder of one's own is laid out as the dataset is
            raise MusicstyleError(path, f"no MIDI files in {'/ or '.join(genres)}/ subfolders (give the folder that "
                                        f"holds {' and '.join(f'{g}/' for g in genres)}, as {name} does)")
        raise MusicstyleError(path, f"no MIDI files of dataset '{name}' found there")
    return None


def fetch(name: str | Source, dest: str | Path | None = None, base_url: str | None = None, workers: int = 8,
          progress: bool = True) -> Path:
    """Download every file of a public dataset that is missing or wrong in ``dest``.

    Each file is written to a temporary name, checked against its SHA-256 and only then moved in
    place, so an interrupted or corrupted transfer leaves nothing half-written.

    Args:
        name: a key of :data:`SOURCES`, or a :class:`Source`.
        dest: target folder (default ``<cache>/data/<name>``).
        base_url: another mirror of the same files.
        workers: parallel downloads.
        progress: show a progress bar.

    Returns:
        ``dest``. Raises :class:`MusicstyleError` naming ``dest`` when files are missing and it cannot
        be written (before any download), listing the files that failed, or naming the host when
        :data:`UNREACHABLE` connections fail before any download succeeds (the rest are not tried).
    """
    import pooch
    import requests
    from tqdm.auto import tqdm

    source = name if isinstance(name, Source) else SOURCES[name]
    dest = Path(dest) if dest is not None else cache_home() / "data" / source.name
    wanted = source.checksums()
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=60)
    logger = pooch.get_logger()
    level = logger.level
    counts, lock = {"ok": 0, "offline": 0}, threading.Lock()

    def unreachable() -> bool:
        return counts["offline"] >= UNREACHABLE and not counts["ok"]

    def one(rel: str) -> tuple[str, str | None]:
        if unreachable():
            return rel, NOT_TRIED
        target = dest / rel
        try:
            pooch.retrieve(source.url(rel, base_url), known_hash=f"sha256:{wanted[rel]}", fname=target.name,
                           path=target.parent, downloader=downloader, progressbar=False)
            with lock:
                counts["ok"] += 1
            return rel, None
        except Exception as err:  # network errors, HTTP errors, checksum mismatch
            if isinstance(err, (requests.ConnectionError, requests.Timeout)):
                with lock:
                    counts["offline"] += 1
            return rel, _short_reason(err)

    todo = [rel for rel in wanted if not (dest / rel).is_file() or sha256_file(dest / rel) != wanted[rel]]
    if todo:
        writable_folder(dest)  # before any download
    failures = []
    logger.setLevel("WARNING")  # one progress bar, not a line per file
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            bar = tqdm(total=len(todo), desc=f"download {source.name}", unit="file", disable=not progress or not todo)
            for rel, reason in pool.map(one, todo):
                if reason is NOT_TRIED:
                    continue
                bar.update()
                if reason:
                    failures.append((rel, reason))
            bar.close()
    finally:
        logger.setLevel(level)
    if unreachable():
        rel, reason = failures[0]
        host = urllib.parse.urlsplit(source.url(rel, base_url)).netloc
        raise MusicstyleError(dest, f"cannot reach {host} ({reason}); the first {len(failures)} downloads failed and "
                                    "the rest were not tried (check the network; or fetch from a mirror, `musicstyle fetch "
                                    f"{source.name} --mirror URL`; or give a folder that holds it, `--data DIR` or "
                                    "MUSICSTYLE_DATA)")
    if failures:
        listed = "; ".join(f"{rel}: {reason}" for rel, reason in failures[:5])
        listed += f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
        raise MusicstyleError(dest, f"{len(failures)} of {len(todo)} downloads failed: {listed}")
    return dest


def _short_reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    text = text.split("(Caused by ", 1)[-1]  # requests: the cause, not the connection pool's URL
    if "hash" in text.lower() and "match" in text.lower():
        return "SHA-256 does not match the published checksum (corrupted download)"
    return f"{type(err).__name__}: {text[:200]}"


def locate(name: str, path: str | Path | None = None, download: bool = True) -> Path:
    """Find a dataset (see :func:`find`), downloading it into the user cache if needed.

    Args:
        name: a key of :data:`SOURCES`.
        path: an explicit folder (the only place looked in).
        download: fetch it when it is nowhere (else raise :class:`MusicstyleError`).

    Returns:
        The dataset's folder.
    """
    found = find(name, path)
    if found is not None:
        return found
    if not download:
        raise MusicstyleError(name, "dataset not found (set MUSICSTYLE_DATA or pass a path)")
    return fetch(name)
