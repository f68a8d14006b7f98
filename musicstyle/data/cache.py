"""The package's one on-disk cache: a user cache folder and atomic ``.npz`` files (never pickle).

Taught in ``notebooks/01_data_exploration.ipynb``. Every cache of the package (parsed pieces, music21
token tables, velocity-model predictions, the rendered default piece) lives under :func:`cache_home`
and is written through :func:`save_npz`: to a temporary name, then moved in place, so an
interrupted write never leaves a half-written file; :func:`load_npz` treats a damaged file as absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


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
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
    os.replace(tmp, path)
    return path


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
