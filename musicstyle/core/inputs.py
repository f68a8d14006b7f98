"""Files a command reads, checked before any work: there, and a file rather than a folder."""

from __future__ import annotations

from pathlib import Path

from ..errors import MusicstyleError


def input_file(path: str | Path) -> Path:
    """``path`` as a :class:`Path` once it names an existing file.

    Returns:
        The path. Raises :class:`MusicstyleError` naming it when it is a folder or does not exist.
    """
    path = Path(path)
    if path.is_dir():
        raise MusicstyleError(path, "is a folder: give a MIDI file")
    if not path.is_file():
        raise MusicstyleError(path, "no such file")
    return path
