"""Files a command writes, checked before any work starts: the right kind, not a folder, never an input."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import MusicstyleError

#: Endings of the MIDI files the package writes.
MIDI = (".mid", ".midi")


def output_file(path: str | Path, suffixes: tuple[str, ...], kind: str = "output", inputs=(), exact: bool = False) -> Path:
    """``path`` as a :class:`Path` once it is safe to write.

    Args:
        path: the file to write.
        suffixes: the endings its writer understands (lower case, with the dot).
        kind: what is written, for the message (``"model files"`` gives "model files must end in .keras").
        inputs: files the same command reads (``None`` entries are ignored).
        exact: the ending must match in case too (Keras saves only to ``.keras``, numpy to ``.npz``).

    Returns:
        The path. Raises :class:`MusicstyleError` naming it when its ending is not one of ``suffixes``,
        when it is a folder, when a file stands where one of its folders would be, or when it is one
        of ``inputs`` (writing would lose that input), or when this process may not write there
        (:func:`unwritable`). Missing folders are made when it is written.
    """
    if str(path).strip() == "":
        raise MusicstyleError("''", f"an empty name for the {kind} file (an unset shell variable?)")
    path = Path(path)
    if (path.suffix if exact else path.suffix.lower()) not in suffixes:
        endings = " or ".join(suffixes) if len(suffixes) < 3 else f"one of {', '.join(suffixes)}"
        raise MusicstyleError(path, f"{kind} must end in {endings}")
    try:
        return _writable_output(path, inputs)
    except OSError as err:  # a folder on the way that cannot be entered
        raise MusicstyleError(path, f"cannot be written ({err.strerror or err}: {err.filename or path})") from None


def _writable_output(path: Path, inputs) -> Path:
    """The checks of :func:`output_file` that ask the file system (any may raise :class:`OSError`)."""
    if path.is_dir():
        raise MusicstyleError(path, "is a folder: give a file name")
    if blocker := file_in_the_way(path.parent):
        raise MusicstyleError(path, f"cannot be written: {blocker} is a file, not a folder")
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            raise MusicstyleError(path, "is also the input: write the result to another file (the input is kept)")
    if reason := unwritable(path):
        raise MusicstyleError(path, f"cannot be written: {reason}")
    return path


def unwritable(path: str | Path) -> str | None:
    """Why this process could not write ``path`` (None: it can), found by trying: a file of the same folder is
    made and removed, in the nearest folder that exists when the path's own folders are still to be made."""
    path, folder = Path(path), Path(path).parent
    try:
        if path.exists() and not os.access(path, os.W_OK):
            return "the file is read-only"
        folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:  # named by the folder tried, not by the temporary file's made-up name
        return f"{folder} is not writable ({err.strerror or err})"
    return None


def file_in_the_way(folder: str | Path) -> Path | None:
    """The file that stands where ``folder`` or one of its parents should be (None: it can be made)."""
    folder = Path(folder)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    return existing if existing is not None and not existing.is_dir() else None


def plot_suffixes() -> tuple[str, ...]:
    """The endings matplotlib writes figures in (``.png``, ``.pdf``, ``.svg``, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(f".{k}" for k in FigureCanvasBase.get_supported_filetypes())


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()
