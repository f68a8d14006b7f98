"""The package's one on-disk cache: a user cache folder and atomic ``.npz`` files (never pickle).

Taught in ``notebooks/01_data_exploration.ipynb``. Every cache of the package (parsed pieces, music21
token tables, velocity-model predictions, the rendered default piece) lives under :func:`cache_home`
and is written through :func:`save_npz`: to a temporary name, then moved in place, so an
interrupted write never leaves a half-written file; :func:`load_npz` treats a damaged file as absent.
A cache that cannot be written costs one warning (:func:`save_cache`, :func:`warn_uncached`), not the work.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import MusicstyleError

#: What to do about a cache folder that cannot be written.
FIX = "set MUSICSTYLE_CACHE to a folder that can be written"
_WARNED: set[str] = set()  # folders already warned about


def cache_home() -> Path:
    """Root of the user cache: ``$MUSICSTYLE_CACHE`` or the platform's user cache folder."""
    env = os.environ.get("MUSICSTYLE_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("musicstyle"))


def cache_path(*parts: str) -> Path:
    """A path inside the user cache, for example ``cache_path("tokens", "x.npz")``."""
    return cache_home().joinpath(*parts)


def save_npz(path: str | Path, arrays: dict, compressed: bool = False) -> Path:
    """Write ``arrays`` (name -> array) to ``path`` atomically.

    Args:
        path: target ``.npz`` file; its folder is created.
        arrays: plain arrays only (no object arrays: the file is read with ``allow_pickle=False``).
        compressed: zip-compress the arrays.

    Returns:
        ``path``; raises :class:`MusicstyleError` naming it when it cannot be written.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise MusicstyleError(path, f"cannot be written ({err.strerror or err})") from err
    return path


def save_cache(path: str | Path, arrays: dict, compressed: bool = False) -> Path | None:
    """:func:`save_npz` for a cache that only saves time: when it cannot be written, one warning per
    folder on stderr, and the work goes on uncached.

    Returns:
        ``path``, or None when it could not be written.
    """
    try:
        return save_npz(path, arrays, compressed)
    except MusicstyleError as err:
        warn_uncached(str(Path(path).parent), err.reason)
        return None


def warn_uncached(folder: str | Path, reason: str) -> None:
    """Say once per folder, on stderr, that a cache there cannot be written and the work goes on without it."""
    if str(folder) not in _WARNED:
        _WARNED.add(str(folder))
        print(f"warning: {folder}: {reason}; going on without this cache ({FIX})", file=sys.stderr)


def writable_folder(folder: str | Path) -> Path:
    """``folder``, created if need be, checked that files can be written in it.

    Returns:
        The folder; raises :class:`MusicstyleError` naming it when no file can be written there.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise MusicstyleError(folder, f"cannot be written ({err.strerror or err})") from err
    return folder


def load_npz(path: str | Path) -> dict | None:
    """The arrays of an ``.npz`` written by :func:`save_npz`, or None when absent or damaged (then removed)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # a damaged cache file is rebuilt, never trusted
        path.unlink(missing_ok=True)
        return None
