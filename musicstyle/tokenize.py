"""MIDI -> note tokens with music21, as the popular note-LSTM tutorials do, cached and in parallel.

Taught in ``notebooks/06_note_lstm.ipynb``.

A file is parsed once by music21 (``converter.parse``: onsets quantised to quarter/4 and
quarter/3, notes split at bar lines, simultaneous notes of one track grouped into chords, drums
dropped) into a table of *elements* (one per music21 ``Note`` or ``Chord``): track, onset and
duration in quarter notes, the MIDI pitches, and the tutorial token. That table is cached as
``.npz`` (never pickle) under ``<cache>/tokens/``, keyed by the SHA-256 of the file's bytes, so an
unchanged file is never parsed again; a whole dataset is parsed by a pool of processes, one per
core, with a progress bar.

Two token vocabularies come from the same table:

- ``simple`` (the tutorial): a note is its name with octave (``E5``, ``F#4``), a chord the
  normal-order pitch classes joined by dots (``4.7.11``); octave of chords, durations and rests
  are lost. Elements in onset order (music21's order within the flattened track).
- ``rich``: every onset becomes one token ``PITCHES:DURATION`` with the real pitches
  (``C3.E4.G4:1/2``; all elements of the selected tracks that start together are merged),
  followed by a rest token ``R:GAP`` when silence or a gap separates it from the next onset. The
  sounding length is cut at the next onset (a monophonic chord stream), durations and gaps are
  multiples of a twelfth of a quarter note, capped at 4 quarters. Playing the tokens back one
  after the other restores onsets, octaves and (cut) durations exactly.

POP909 files hold three tracks (MELODY, BRIDGE, PIANO); :func:`tokens` keeps MELODY and PIANO
(see :data:`POP909_TRACKS`): the sung melody and its piano accompaniment; BRIDGE holds
secondary melodies and fills that would interleave a third voice between the two.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import MusicstyleError

#: Bump when the element table changes: old cache files are then ignored.
TOKEN_CACHE_VERSION = 1
#: Tracks kept from POP909 files (matched by track name); other files keep every pitched track.
POP909_TRACKS = ("MELODY", "PIANO")
#: Longest duration or rest written in a rich token, in quarter notes.
MAX_QUARTERS = Fraction(4)
#: Grid of rich durations: a twelfth of a quarter (covers music21's quarter/4 and quarter/3).
GRID = 12
REST = "R"
SHARP_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")


@dataclass
class Elements:
    """music21's notes and chords of one file: element ``i`` has ``pitches[start[i]:start[i+1]]``."""

    name: str
    track: np.ndarray  # int16, index into track_names
    offset: np.ndarray  # float64 quarter notes
    duration: np.ndarray  # float64 quarter notes
    start: np.ndarray  # int64, len(elements) + 1
    pitches: np.ndarray  # int16 MIDI numbers
    token: np.ndarray  # str, the tutorial token
    track_names: list[str]

    def __len__(self) -> int:
        return len(self.offset)

    def keep_tracks(self, names) -> "Elements":
        """Only the elements of the tracks named in ``names`` (all when none of them is present)."""
        wanted = [i for i, n in enumerate(self.track_names) if n in set(names)]
        if not wanted:
            return self
        mask = np.isin(self.track, wanted)
        idx = np.flatnonzero(mask)
        counts = np.diff(self.start)[idx]
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        pitches = np.concatenate([self.pitches[self.start[i] : self.start[i + 1]] for i in idx]) if len(idx) else self.pitches[:0]
        return Elements(self.name, self.track[idx], self.offset[idx], self.duration[idx], start, pitches, self.token[idx], self.track_names)


# ---------------------------------------------------------------- parsing (music21)


def parse_elements(data: bytes, name: str = "<bytes>") -> Elements:
    """Parse MIDI bytes with music21 into an :class:`Elements` table (slow: seconds per file).

    Raises :class:`MusicstyleError` naming ``name`` when music21 cannot read the file or it holds
    no notes. Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    from music21 import chord, midi, note

    if not data:
        raise MusicstyleError(name, "empty file")
    if not data.startswith(b"MThd"):
        raise MusicstyleError(name, "not a MIDI file (no MThd header)")
    try:
        mf = midi.MidiFile()
        mf.readstr(data)
        score = midi.translate.midiFileToStream(mf)
    except Exception as err:  # music21 raises many types for damaged files
        raise MusicstyleError(name, f"music21 cannot read it ({type(err).__name__}: {str(err)[:120]})") from None
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    rows, pitches, track_names = [], [], []
    for t, part in enumerate(parts):
        track_names.append(str(part.partName or f"track{t}"))
        for el in part.flatten().notes:
            if isinstance(el, note.Note):
                ps, tok = [el.pitch.midi], str(el.pitch)
            elif isinstance(el, chord.Chord) and not el.isRest and el.pitches:
                ps, tok = sorted(p.midi for p in el.pitches), ".".join(str(n) for n in el.normalOrder)
            else:  # unpitched / percussion
                continue
            rows.append((t, float(el.offset), float(el.quarterLength), tok, len(ps)))
            pitches.extend(ps)
    if not rows:
        raise MusicstyleError(name, "no notes or chords (music21 found nothing pitched)")
    track, offset, duration, token, counts = zip(*rows)
    return Elements(
        name,
        np.asarray(track, np.int16),
        np.asarray(offset, np.float64),
        np.asarray(duration, np.float64),
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        np.asarray(pitches, np.int16),
        np.asarray(token, dtype=str),
        track_names,
    )


def tutorial_tokens(path: str | Path) -> list[str]:
    """The plain sequential route, for comparison: ``converter.parse`` + the tutorial's loop.

    Returns the simple tokens of every track, in music21's order. Taught in
    ``notebooks/06_note_lstm.ipynb`` (and timed by ``musicstyle bench tokens``).
    """
    from music21 import chord, converter, note

    # forceSource/storePickle: a real parse every time (music21 otherwise keeps its own pickle of
    # every file it parsed in its scratch folder and loads that on the next call)
    score = converter.parse(str(path), format="midi", forceSource=True, storePickle=False)
    out = []
    for part in score.parts:
        for el in part.flatten().notes:
            if isinstance(el, note.Note):
                out.append(str(el.pitch))
            elif isinstance(el, chord.Chord) and el.pitches:
                out.append(".".join(str(n) for n in el.normalOrder))
    return out


# ---------------------------------------------------------------- cache


def _cache_dir() -> Path:
    from .data import cache_home

    return cache_home() / "tokens"


def cache_file(digest: str) -> Path:
    """Where the element table of a file with SHA-256 ``digest`` is cached."""
    return _cache_dir() / f"m21-v{TOKEN_CACHE_VERSION}-{digest}.npz"


def _save(path: Path, e: Elements) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        track=e.track,
        offset=e.offset,
        duration=e.duration,
        start=e.start,
        pitches=e.pitches,
        token=e.token,
        track_names=np.asarray(e.track_names, dtype=str),
    )
    os.replace(tmp, path)


def _load(path: Path, name: str) -> Elements:
    with np.load(path, allow_pickle=False) as z:
        return Elements(
            name, z["track"], z["offset"], z["duration"], z["start"], z["pitches"], z["token"], [str(s) for s in z["track_names"]]
        )


def _parse_to_cache(item: tuple[bytes, str, str]) -> str | None:
    """Worker: parse and cache; returns the reason on failure, None on success."""
    data, name, digest = item
    try:
        _save(cache_file(digest), parse_elements(data, name))
    except MusicstyleError as err:
        return err.reason
    return None


def elements(path: str | Path, data: bytes | None = None) -> Elements:
    """The cached element table of one file, parsing it (music21) only on a cache miss.

    Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise MusicstyleError(path, f"cannot read ({err.strerror or err})") from None
    digest = hashlib.sha256(data).hexdigest()
    cached = cache_file(digest)
    if cached.is_file():
        try:
            return _load(cached, path.stem)
        except Exception:  # a damaged cache file is rebuilt, never trusted
            cached.unlink(missing_ok=True)
    e = parse_elements(data, str(path))
    _save(cached, e)
    e.name = path.stem
    return e


def _pool_context():
    import multiprocessing

    # fork is fast, but unsafe once TensorFlow has started threads: then use forkserver/spawn
    if sys.platform == "linux" and "tensorflow" not in sys.modules:
        return multiprocessing.get_context("fork")
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _fail_file(digest: str) -> Path:
    return _cache_dir() / f"m21-v{TOKEN_CACHE_VERSION}-{digest}.failed.json"


def _bundle_file(digests) -> Path:
    key = hashlib.sha256("\n".join(sorted(set(digests))).encode()).hexdigest()[:24]
    return _cache_dir() / f"bundle-v{TOKEN_CACHE_VERSION}-{key}.npz"


def _save_bundle(path: Path, tables: dict[str, Elements]) -> None:
    """Many element tables in one ``.npz`` (one file to open instead of one per piece)."""
    items = list(tables.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        digest=np.asarray([d for d, _ in items], dtype=str),
        n_el=np.asarray([len(e) for _, e in items], np.int64),
        n_p=np.asarray([len(e.pitches) for _, e in items], np.int64),
        names=np.asarray(["\x1f".join(e.track_names) for _, e in items], dtype=str),
        track=np.concatenate([e.track for _, e in items]),
        offset=np.concatenate([e.offset for _, e in items]),
        duration=np.concatenate([e.duration for _, e in items]),
        start=np.concatenate([e.start[:-1] for _, e in items]),
        pitches=np.concatenate([e.pitches for _, e in items]),
        token=np.concatenate([e.token for _, e in items]),
    )
    os.replace(tmp, path)


def _load_bundle(path: Path) -> dict[str, Elements]:
    with np.load(path, allow_pickle=False) as z:
        z = {k: z[k] for k in z.files}
    out = {}
    e0 = np.concatenate([[0], np.cumsum(z["n_el"])])
    p0 = np.concatenate([[0], np.cumsum(z["n_p"])])
    for i, d in enumerate(z["digest"]):
        a, b, pa, pb = e0[i], e0[i + 1], p0[i], p0[i + 1]
        start = np.concatenate([z["start"][a:b], [pb - pa]]).astype(np.int64)
        out[str(d)] = Elements("", z["track"][a:b], z["offset"][a:b], z["duration"][a:b], start, z["pitches"][pa:pb],
                               z["token"][a:b], str(z["names"][i]).split("\x1f"))
    return out


def tokenize_files(
    paths, workers: int | None = None, progress: bool = True, cache: bool = True
) -> tuple[dict[str, Elements], dict[str, str]]:
    """Element tables of many files: cached ones loaded, the rest parsed in parallel and cached.

    Returns ``(elements by path string, skipped: reason by path string)``. ``workers`` defaults
    to every core; the longest files are handed out first. Each file is cached by the SHA-256 of
    its bytes (failures too, with their reason); a set of 16 or more files is also bundled into one
    ``.npz``, so loading a whole cached dataset opens one file. Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    import json
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    paths = [Path(p) for p in paths]
    skipped: dict[str, str] = {}
    read = []
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError as err:
            skipped[str(p)] = f"cannot read ({err.strerror or err})"
            continue
        read.append((p, data, hashlib.sha256(data).hexdigest()))
    bundle = _bundle_file([d for *_, d in read]) if len(read) >= 16 else None
    by_digest: dict[str, Elements] = {}
    if cache and bundle is not None and bundle.is_file():
        try:
            by_digest = _load_bundle(bundle)
        except Exception:  # a damaged bundle is rebuilt, never trusted
            bundle.unlink(missing_ok=True)
            by_digest = {}
    todo = []
    for p, data, digest in read:
        if digest in by_digest:
            continue
        f = cache_file(digest)
        if cache and f.is_file():
            try:
                by_digest[digest] = _load(f, p.stem)
                continue
            except Exception:
                f.unlink(missing_ok=True)
        if cache and _fail_file(digest).is_file():
            continue
        todo.append((p, data, digest))
    fresh = bool(todo)
    if todo:
        workers = workers or os.cpu_count() or 1
        todo.sort(key=lambda t: -len(t[1]))  # longest first: workers finish together
        items = [(data, str(p), digest) for p, data, digest in todo]
        bar = tqdm(total=len(items), desc="music21", unit="file", disable=not progress)
        reasons = {}
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
        for i, (p, _, digest) in enumerate(todo):
            if reasons[i] is not None:
                _fail_file(digest).write_text(json.dumps({"file": str(p), "reason": reasons[i]}))
            else:
                by_digest[digest] = _load(cache_file(digest), p.stem)
    out = {}
    for p, _, digest in read:
        if digest in by_digest:
            e = by_digest[digest]
            out[str(p)] = Elements(p.stem, e.track, e.offset, e.duration, e.start, e.pitches, e.token, e.track_names)
        else:
            f = _fail_file(digest)
            skipped[str(p)] = json.loads(f.read_text())["reason"] if f.is_file() else "not parsed"
    if cache and bundle is not None and (fresh or not bundle.is_file()) and by_digest:
        _save_bundle(bundle, {d: by_digest[d] for _, _, d in read if d in by_digest})
    return out, skipped


# ---------------------------------------------------------------- tokens


def _select(e: Elements) -> Elements:
    if any(n in POP909_TRACKS for n in e.track_names) and "MELODY" in e.track_names:
        return e.keep_tracks(POP909_TRACKS)
    return e


def pitch_name(midi: int) -> str:
    """``60 -> 'C4'`` with music21's default spelling of MIDI input (C#, E-, F#, G#, B-)."""
    return f"{SHARP_NAMES[midi % 12]}{midi // 12 - 1}"


def _q(x: float) -> Fraction:
    return min(Fraction(round(x * GRID), GRID), MAX_QUARTERS)


def tokens(e: Elements, rich: bool = False) -> list[str]:
    """Token list of one file's element table (see the module docstring for both vocabularies).

    Taught in ``notebooks/06_note_lstm.ipynb``.
    """
    e = _select(e)
    order = np.argsort(e.offset, kind="stable")
    if not rich:
        return [str(t) for t in e.token[order]]
    onsets: dict[Fraction, tuple[set, float]] = {}
    for i in order:
        at = Fraction(round(e.offset[i] * GRID), GRID)
        ps, dur = onsets.get(at, (set(), 0.0))
        ps.update(int(x) for x in e.pitches[e.start[i] : e.start[i + 1]])
        onsets[at] = (ps, max(dur, float(e.duration[i])))
    times = sorted(onsets)
    out = []
    for k, at in enumerate(times):
        ps, dur = onsets[at]
        d = _q(dur)
        if k + 1 < len(times):
            gap = times[k + 1] - at
            d = min(d, gap) if d > 0 else min(Fraction(1, GRID), gap)
            rest = _q(float(gap - d)) if gap > d else Fraction(0)
        else:
            rest = Fraction(0)
        d = max(d, Fraction(1, GRID))
        out.append(".".join(pitch_name(p) for p in sorted(ps)) + f":{d}")
        if rest > 0:
            out.append(f"{REST}:{rest}")
    return out


def parse_token(token: str) -> tuple[list[int], Fraction | None, bool]:
    """``(midi pitches, duration or None, is_rest)`` of a token of either vocabulary.

    Simple chord tokens (pitch classes) come back as pitch classes 0-11 (octave unknown); simple
    tokens have no duration (None).
    """
    from music21 import pitch as m21pitch

    body, _, dur = token.partition(":")
    duration = Fraction(dur) if dur else None
    if body == REST:
        return [], duration, True
    out = []
    for part in body.split("."):
        if part.isdigit():
            out.append(int(part))
        else:
            try:
                out.append(int(m21pitch.Pitch(part).midi))
            except Exception:
                raise MusicstyleError(token, "not a note, chord or rest token") from None
    return out, duration, False


# ---------------------------------------------------------------- benchmark


def dataset_files(data: str | Path | None = None) -> list[Path]:
    """Every MIDI file of TPD (classical, jazz) and POP909 found under ``data``/``MUSICSTYLE_DATA``."""
    from .data import find

    files = []
    for name, subs in (("tpd", ("classical", "jazz")), ("pop909", ("",))):
        root = Path(data) / name if data else find(name)
        if root is None or not root.is_dir():
            raise MusicstyleError(name, "dataset not found (set MUSICSTYLE_DATA or pass --data)")
        for sub in subs:
            files += sorted(p for p in (root / sub).iterdir() if p.suffix.lower() == ".mid")
    return files


def bench_tokens(data: str | Path | None = None, files: int = 10, repeats: int = 2) -> dict:
    """Tokenize TPD + POP909: cold (empty cache, process pool over every core) and plain
    sequential music21 (``converter.parse`` + the tutorial loop) on the same ``files`` files spread
    over the datasets, scaled to all files; cached on every file already in the user cache, scaled
    likewise when not all are. Checks the tokens are identical. Taught in notebook 06."""
    import tempfile
    import time

    import music21.converter  # noqa: F401  (import time counted for neither side)
    import music21.midi.translate  # noqa: F401

    every = dataset_files(data)
    subset = every[:: max(1, len(every) // max(1, files))][:files]
    colds, seqs = [], []
    saved = os.environ.get("MUSICSTYLE_CACHE")
    for _ in range(repeats):  # alternated; the best of each, as the machine is shared and noisy
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["MUSICSTYLE_CACHE"] = tmp
            try:
                t0 = time.perf_counter()
                table, skipped = tokenize_files(subset, progress=False)
                colds.append(time.perf_counter() - t0)
            finally:
                if saved is None:
                    os.environ.pop("MUSICSTYLE_CACHE", None)
                else:
                    os.environ["MUSICSTYLE_CACHE"] = saved
        t0 = time.perf_counter()
        plain = [tutorial_tokens(p) for p in subset]
        seqs.append(time.perf_counter() - t0)
    cold, sequential = min(colds), min(seqs)
    same = all(str(p) in table and list(table[str(p)].token) == toks for p, toks in zip(subset, plain))
    cached_files = [p for p in every if cache_file(hashlib.sha256(p.read_bytes()).hexdigest()).is_file()]
    tokenize_files(cached_files, progress=False)  # writes the bundle of these files if missing
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
        "cached_s": round(cached * len(every) / max(1, len(cached_files)), 2),
        "scaled": len(subset) < len(every) or len(cached_files) < len(every),
        "note": "cold (empty cache, process pool) and sequential (converter.parse, music21's own pickle cache off) "
        "timed on cold_files_timed files, best of the runs, cached on cached_files_timed files; each scaled to all files",
    }
