"""Datasets: find, download (verified by SHA-256), parse once, cache, split by piece.

Taught in ``notebooks/01_data_exploration.ipynb``; sources and licences in ``data/README.md``.

A dataset is looked for in this order: an explicit path, ``$MUSICSTYLE_DATA/<name>``, the user
cache (``$MUSICSTYLE_CACHE`` or the platform's cache folder)/``data/<name>``; where none has it,
it is downloaded file by file from its public source into the user cache, each file checked
against the SHA-256 list shipped in the package. Parsed pieces are cached as one ``.npz`` per
set of files (keyed by their contents), never as pickle.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .errors import MusicstyleError
from .midi import CC_DTYPE, NOTE_DTYPE, TEMPO_DTYPE, Performance, read_midi
from .settings import quick_mode

GENRES = ("classical", "jazz")
MIDI_SUFFIXES = (".mid", ".midi")
CACHE_VERSION = 1


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


def cache_home() -> Path:
    """Root of the user cache: ``$MUSICSTYLE_CACHE`` or the platform's user cache folder."""
    env = os.environ.get("MUSICSTYLE_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("musicstyle"))


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def find(name: str, path: str | Path | None = None) -> Path | None:
    """The first folder that holds dataset ``name``: explicit path, ``$MUSICSTYLE_DATA``, user cache."""
    candidates = []
    if path is not None:
        candidates += [Path(path) / name, Path(path)]
    if os.environ.get("MUSICSTYLE_DATA"):
        candidates.append(Path(os.environ["MUSICSTYLE_DATA"]).expanduser() / name)
    candidates.append(cache_home() / "data" / name)
    for folder in candidates:
        if folder.is_dir() and any(_midi_files(folder, SOURCES[name].genres if name in SOURCES else ())):
            return folder
    if path is not None:
        raise MusicstyleError(path, f"no MIDI files of dataset '{name}' found there")
    return None


def fetch(
    name: str | Source,
    dest: str | Path | None = None,
    base_url: str | None = None,
    workers: int = 8,
    progress: bool = True,
) -> Path:
    """Download every file of a public dataset that is missing or wrong in ``dest``.

    Each file is written to a temporary name, checked against its SHA-256 and only then moved in
    place, so an interrupted or corrupted transfer leaves nothing half-written. Raises
    :class:`MusicstyleError` listing the files that failed.
    """
    import pooch
    from tqdm.auto import tqdm

    source = name if isinstance(name, Source) else SOURCES[name]
    dest = Path(dest) if dest is not None else cache_home() / "data" / source.name
    wanted = source.checksums()
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=60)

    def one(rel: str) -> tuple[str, str | None]:
        target = dest / rel
        try:
            pooch.retrieve(
                source.url(rel, base_url),
                known_hash=f"sha256:{wanted[rel]}",
                fname=target.name,
                path=target.parent,
                downloader=downloader,
                progressbar=False,
            )
            return rel, None
        except Exception as err:  # network errors, HTTP errors, checksum mismatch
            return rel, _short_reason(err)

    todo = [rel for rel in wanted if not (dest / rel).is_file() or sha256_file(dest / rel) != wanted[rel]]
    failures = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        bar = tqdm(total=len(todo), desc=f"download {source.name}", unit="file", disable=not progress or not todo)
        for rel, reason in pool.map(one, todo):
            bar.update()
            if reason:
                failures.append(f"{rel}: {reason}")
        bar.close()
    if failures:
        listed = "; ".join(failures[:5]) + (f"; and {len(failures) - 5} more" if len(failures) > 5 else "")
        raise MusicstyleError(dest, f"{len(failures)} of {len(todo)} downloads failed: {listed}")
    return dest


def _short_reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "hash" in text.lower() and "match" in text.lower():
        return "SHA-256 does not match the published checksum (corrupted download)"
    return f"{type(err).__name__}: {text[:200]}"


def locate(name: str, path: str | Path | None = None, download: bool = True) -> Path:
    """Find dataset ``name`` (see :func:`find`), downloading it into the user cache if needed."""
    found = find(name, path)
    if found is not None:
        return found
    if not download:
        raise MusicstyleError(name, "dataset not found (set MUSICSTYLE_DATA or pass a path)")
    return fetch(name)


# --- pieces --------------------------------------------------------------------------------------


@dataclass
class Piece:
    """A parsed piece with where it came from."""

    name: str
    genre: str | None
    path: str  # relative to the collection's root
    performance: Performance


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class Collection:
    """Pieces of one folder, with every file that could not be read and why."""

    root: str
    pieces: list[Piece]
    skipped: list[Skipped] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pieces)

    def genre(self, genre: str) -> list[Piece]:
        return [p for p in self.pieces if p.genre == genre]

    def split(self, seed: int = 0, test: float = 0.1, validation: float = 0.1) -> dict[str, list[Piece]]:
        """Piece-level train/validation/test split; see :func:`split_names`."""
        parts = split_names([p.path for p in self.pieces], [p.genre for p in self.pieces], seed, test, validation)
        side = {path: k for k, paths in parts.items() for path in paths}
        return {k: [p for p in self.pieces if side[p.path] == k] for k in parts}

    def report(self) -> str:
        """One line per skipped file, for the user to read."""
        return "\n".join(f"skipped {s.path}: {s.reason}" for s in self.skipped)


def pieces_checksum(pieces) -> str:
    """SHA-256 over the sorted content digests of ``pieces``: which data a model was trained on."""
    digests = sorted(p.performance.sha256 for p in pieces)
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def split_names(
    names: list[str], genres: list[str | None], seed: int = 0, test: float = 0.1, validation: float = 0.1
) -> dict[str, list[str]]:
    """Reproducible piece-level split, stratified by genre.

    Within each genre, pieces are ranked by SHA-256 of ``"{seed}/{name}"``; the first
    ``round(n*test)`` go to test, the next ``round(n*validation)`` to validation, the rest to train.
    A piece's side depends only on the seed and the set of names, never on file order.
    """
    out = {"train": [], "validation": [], "test": []}
    for g in dict.fromkeys(genres):
        group = sorted((n for n, gg in zip(names, genres) if gg == g), key=lambda n: _rank(seed, n))
        n_test, n_val = round(len(group) * test), round(len(group) * validation)
        out["test"] += group[:n_test]
        out["validation"] += group[n_test : n_test + n_val]
        out["train"] += group[n_test + n_val :]
    return out


def _rank(seed: int, name: str) -> str:
    return hashlib.sha256(f"{seed}/{name}".encode()).hexdigest()


def _midi_files(folder: Path, genres: Iterable[str]) -> Iterable[tuple[str | None, Path]]:
    def midis(d: Path):
        return sorted(p for p in d.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())

    genres = tuple(genres)
    if genres:
        for g in genres:
            if (folder / g).is_dir():
                yield from ((g, p) for p in midis(folder / g))
    else:
        yield from ((None, p) for p in midis(folder))


def quick_subset(paths: list[str], genres: list[str | None], per_genre: int = 12) -> list[str]:
    """A small fixed subset (the same for everyone): the first pieces per genre by hash rank."""
    keep = []
    for g in dict.fromkeys(genres):
        group = sorted((p for p, gg in zip(paths, genres) if gg == g), key=lambda n: _rank(0, n))
        keep += group[:per_genre]
    return sorted(keep)


def load_folder(
    folder: str | Path,
    genres: Iterable[str] = GENRES,
    subset: list[str] | None = None,
    quick: bool | None = None,
    cache: bool = True,
    progress: bool = True,
) -> Collection:
    """Read every MIDI file under ``folder`` (in ``genres`` subfolders, if given) into pieces.

    ``subset`` keeps only these relative paths; ``quick`` (default: ``MUSICSTYLE_QUICK``) keeps
    :func:`quick_subset`. Files that cannot be read are listed in ``Collection.skipped`` with the
    reason; the load itself never stops on one. Parsed pieces are cached (see module docstring).
    """
    from tqdm.auto import tqdm

    folder = Path(folder)
    if not folder.is_dir():
        raise MusicstyleError(folder, "not a folder")
    files = [(g, p, p.relative_to(folder).as_posix()) for g, p in _midi_files(folder, genres)]
    if quick if quick is not None else quick_mode():
        subset = quick_subset([rel for _, _, rel in files], [g for g, _, _ in files]) if subset is None else subset
    if subset is not None:
        keep = set(subset)
        files = [f for f in files if f[2] in keep]
    datas = [(g, p, rel, p.read_bytes()) for g, p, rel in files]
    digests = [hashlib.sha256(d).hexdigest() for *_, d in datas]
    key = hashlib.sha256(
        "\n".join([str(CACHE_VERSION)] + [f"{rel}\t{g}\t{h}" for (g, _, rel, _), h in zip(datas, digests)]).encode()
    ).hexdigest()[:24]
    cache_file = cache_home() / "parsed" / f"pieces-{key}.npz"
    if cache and cache_file.is_file():
        try:
            return _load_cache(cache_file, folder)
        except Exception:  # a damaged cache is rebuilt, never trusted
            cache_file.unlink(missing_ok=True)
    pieces, skipped = [], []
    parsed = _parse_all([(data, p.stem) for _, p, _, data in datas])
    for (g, p, rel, _), perf in tqdm(zip(datas, parsed), total=len(datas), desc=f"parse {folder.name}", unit="file", disable=not progress):
        if isinstance(perf, str):
            skipped.append(Skipped(rel, perf))
            continue
        perf.source = str(p)
        pieces.append(Piece(p.stem, g, rel, perf))
    collection = Collection(str(folder), pieces, skipped)
    if cache:
        _save_cache(cache_file, collection)
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


def load_dataset(name: str, path: str | Path | None = None, **kwargs) -> Collection:
    """Load ``tpd`` (genres classical, jazz) or ``pop909`` (genre ``pop``), finding or fetching it."""
    folder = locate(name, path)
    collection = load_folder(folder, genres=SOURCES[name].genres, **kwargs)
    if name == "pop909":
        for piece in collection.pieces:
            piece.genre = "pop"
    return collection


def _save_cache(cache_file: Path, c: Collection) -> None:
    perfs = [p.performance for p in c.pieces]
    arrays = {
        "names": np.array([p.name for p in c.pieces], dtype=str),
        "genres": np.array([p.genre or "" for p in c.pieces], dtype=str),
        "paths": np.array([p.path for p in c.pieces], dtype=str),
        "sha256": np.array([q.sha256 for q in perfs], dtype=str),
        "tpq": np.array([q.ticks_per_quarter for q in perfs], dtype=np.int64),
        "skipped_paths": np.array([s.path for s in c.skipped], dtype=str),
        "skipped_reasons": np.array([s.reason for s in c.skipped], dtype=str),
    }
    for key, attr, dtype in (("notes", "notes", NOTE_DTYPE), ("controls", "controls", CC_DTYPE), ("tempos", "tempos", TEMPO_DTYPE)):
        parts = [getattr(q, attr) for q in perfs]
        arrays[key] = np.concatenate(parts) if parts else np.zeros(0, dtype)
        arrays[f"{key}_count"] = np.array([len(x) for x in parts], dtype=np.int64)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, cache_file)


def _load_cache(cache_file: Path, folder: Path) -> Collection:
    with np.load(cache_file, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    split = {}
    for key in ("notes", "controls", "tempos"):
        split[key] = np.split(a[key], np.cumsum(a[f"{key}_count"])[:-1]) if len(a[f"{key}_count"]) else []
    pieces = []
    for i, name in enumerate(a["names"]):
        rel = str(a["paths"][i])
        perf = Performance(
            name=str(name),
            ticks_per_quarter=int(a["tpq"][i]),
            notes=split["notes"][i],
            controls=split["controls"][i],
            tempos=split["tempos"][i],
            source=str(folder / rel),
            sha256=str(a["sha256"][i]),
        )
        pieces.append(Piece(str(name), str(a["genres"][i]) or None, rel, perf))
    skipped = [Skipped(str(p), str(r)) for p, r in zip(a["skipped_paths"], a["skipped_reasons"])]
    return Collection(str(folder), pieces, skipped)
