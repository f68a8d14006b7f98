"""The default piece that needs no download: Scott Joplin's Maple Leaf Rag (1899, public domain).

Rendered to MIDI from the score in music21's bundled corpus, once, into the user cache. Its
velocities come from the score's dynamics marks only (four levels), which makes it a clear
"before" for style transfer. Used by ``make demo`` and notebook 01.
"""

from __future__ import annotations

import os
from pathlib import Path

from .cache import cache_home, writable_folder

DEFAULT_PIECE = "joplin/maple_leaf_rag"


def default_piece() -> Path:
    """Path of the default piece's MIDI file, rendering it from music21's corpus on first use."""
    target = cache_home() / "examples" / "maple_leaf_rag.mid"
    if not target.is_file():
        from music21 import corpus

        writable_folder(target.parent)
        tmp = target.with_suffix(f".tmp{os.getpid()}.mid")
        corpus.parse(DEFAULT_PIECE).write("midi", fp=str(tmp))
        os.replace(tmp, target)
    return target
