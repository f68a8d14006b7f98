"""Files a command reads, checked before any work: named, there, a file rather than a folder, and readable."""

from __future__ import annotations

from pathlib import Path

from ..errors import MusicstyleError


def input_file(path: str | Path) -> Path:
    """``path`` as a :class:`Path` once it names an existing file this process may read.

    A pipe (``<(...)``) or other non-folder is taken as it is (opening it to check would consume it).

    Returns:
        The path. Raises :class:`MusicstyleError` naming it when the name is empty, or it is a folder,
        does not exist or cannot be read.
    """
    if str(path).strip() == "":
        raise MusicstyleError("''", "an empty file name (an unset shell variable?)")
    path = Path(path)
    try:
        if path.is_dir():
            raise MusicstyleError(path, "is a folder: give a MIDI file")
        if not path.exists():
            raise MusicstyleError(path, "a link to a file that is not there" if path.is_symlink() else "no such file")
        if path.is_file():
            with path.open("rb"):
                pass
    except OSError as err:  # a folder on the way that cannot be entered, a file without read permission
        raise MusicstyleError.unreadable(path, err) from None
    return path


def input_folder(path: str | Path) -> Path:
    """``path`` as a :class:`Path` once it names an existing folder (a ``--data`` folder, say).

    Returns:
        The path. Raises :class:`MusicstyleError` naming it when the name is empty, or nothing or a file is there.
    """
    if str(path).strip() == "":
        raise MusicstyleError("''", "an empty folder name (an unset shell variable?)")
    path = Path(path)
    try:
        if not path.is_dir():
            raise MusicstyleError(path, "is a file, not a folder" if path.exists() else "no such folder")
    except OSError as err:  # a folder on the way that cannot be entered
        raise MusicstyleError.unreadable(path, err) from None
    return path
