"""The default piece that needs no download: Scott Joplin's Maple Leaf Rag (1899, public domain).

Rendered to MIDI from the score in music21's bundled corpus, once, into the user cache. Its
velocities come from the score's dynamics marks only (four levels), which makes it a clear
"before" for style transfer. Used by ``make demo``, the command line's default piece and
notebooks 03 and 07.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from ..errors import MusicstyleError
from .cache import cache_home, warn_uncached, writable_folder

DEFAULT_PIECE = "joplin/maple_leaf_rag"


def default_piece() -> Path:
    """Path of the default piece's MIDI file, rendering it from music21's corpus on first use (into a
    temporary folder, with a warning, when the cache cannot be written)."""
    target = cache_home() / "examples" / "maple_leaf_rag.mid"
    if target.is_file():
        return target
    try:
        writable_folder(target.parent)
    except MusicstyleError as err:
        warn_uncached(err.source, err.reason)
        return _temporary_piece()
    return _render(target)


@functools.cache
def _temporary_piece() -> Path:
    """The default piece rendered once per process into a temporary folder."""
    return _render(Path(tempfile.mkdtemp(prefix="musicstyle-")) / "maple_leaf_rag.mid")


def _render(target: Path) -> Path:
    from music21 import corpus

    tmp = target.with_suffix(f".tmp{os.getpid()}.mid")
    corpus.parse(DEFAULT_PIECE).write("midi", fp=str(tmp))
    os.replace(tmp, target)
    return target
