"""``musicstyle bench preprocess``: MIDI to matrices, cold and warm, against music21 and other readers.

Taught in ``notebooks/01_data_exploration.ipynb``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from ..data.collection import load_folder
from ..data.sources import GENRES, find, midi_files
from ..errors import MusicstyleError
from ..core.roll import PAPER, piano_rolls


def bench_preprocess(data: str | Path | None = None, music21_files: int = 12) -> dict:
    """Read every TPD file into matrices cold (empty cache) and warm, and time music21 on a subset.

    music21 is timed cold (its own pickle cache neither read nor written: a real parse each time)
    on ``music21_files`` files spread evenly over the sorted list and scaled to all files (it needs
    seconds per file); the package's reader, symusic, mido and pretty_midi (parse only, no matrices, one
    process) on 50 such files, scaled likewise.

    Args:
        data: a folder holding TPD (default: found as usual).
        music21_files: files parsed by music21.

    Returns:
        The figures as a dict (seconds, counts, ``speedup_vs_music21``).
    """
    folder = find("tpd", data)
    if folder is None:
        raise MusicstyleError("tpd", "dataset not found (set MUSICSTYLE_DATA or pass --data)")
    files = [p for _, p in midi_files(folder, GENRES)]
    saved = os.environ.get("MUSICSTYLE_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MUSICSTYLE_CACHE"] = tmp
        try:
            t0 = time.perf_counter()
            collection = load_folder(folder, quick=False, progress=False)
            rolls = piano_rolls([p.performance for p in collection.pieces], PAPER)
            cold = time.perf_counter() - t0
            steps = sum(r.steps for r in rolls)
            del rolls
            t0 = time.perf_counter()
            collection = load_folder(folder, quick=False, progress=False)
            rolls = piano_rolls([p.performance for p in collection.pieces], PAPER)
            warm = time.perf_counter() - t0
            del rolls
        finally:
            if saved is None:
                os.environ.pop("MUSICSTYLE_CACHE", None)
            else:
                os.environ["MUSICSTYLE_CACHE"] = saved
    result = {
        "files": len(files),
        "pieces": len(collection.pieces),
        "skipped": len(collection.skipped),
        "steps": steps,
        "cold_s": round(cold, 3),
        "warm_s": round(warm, 3),
    }
    result.update(_other_readers(files[:: max(1, len(files) // 50)][:50], len(files)))
    subset = files[:: max(1, len(files) // max(1, music21_files))][:music21_files]
    t0 = time.perf_counter()
    _music21_parse(subset)
    per_file = (time.perf_counter() - t0) / len(subset)
    result["music21_files_timed"] = len(subset)
    result["music21_s"] = round(per_file * len(files), 1)
    result["music21_scaled"] = True
    result["music21_cache"] = "off (a real parse of every file)"
    result["speedup_vs_music21"] = round(per_file * len(files) / cold, 1)
    return result


def _music21_parse(paths) -> None:
    from music21 import converter

    for path in paths:  # forceSource/storePickle: never music21's pickle of an earlier parse
        converter.parse(str(path), format="midi", forceSource=True, storePickle=False)


def _other_readers(files, total: int) -> dict:
    """Parse-only time, in this process, of the package's reader and of symusic, mido and pretty_midi (where
    installed) on ``files``, scaled to ``total``; ``*_vs_musicstyle``: each one's time over the package's."""
    import importlib

    readers = {
        "musicstyle": lambda m, f: m.read_midi(f),
        "symusic": lambda m, f: m.Score(str(f)),
        "mido": lambda m, f: m.MidiFile(str(f)),
        "pretty_midi": lambda m, f: m.PrettyMIDI(str(f)),
    }
    out, seconds = {"readers_files_timed": len(files)}, {}
    for name, parse in readers.items():
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        t0 = time.perf_counter()
        for f in files:
            parse(module, f)
        seconds[name] = (time.perf_counter() - t0) * total / len(files)
        out[f"{name}_parse_s"] = round(seconds[name], 2)
        if name != "musicstyle":
            out[f"{name}_vs_musicstyle"] = round(seconds[name] / seconds["musicstyle"], 2)
    return out
