"""The models shipped in ``musicstyle/pretrained/``: where they are, and one cache that loads each once.

Taught in ``notebooks/02_velocity_cnn.ipynb``. Every model package loads its shipped files through
:func:`load_shipped` (safe mode, metadata checked for its ``kind``); :func:`clear` frees them all.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import MusicstyleError
from .modelfile import load_model

_LOADED: dict[tuple[str, str | None], tuple] = {}
_SHIPPED = Path(str(resources.files("musicstyle").joinpath("pretrained")))


def pretrained_path(name: str) -> Path:
    """Path of a model file shipped inside the package (``musicstyle/pretrained/NAME``)."""
    path = _SHIPPED / name
    if not path.is_file():
        raise MusicstyleError(path, "pretrained model not shipped with this installation")
    return path


def load_shipped(name: str, kind: str | None = None) -> tuple:
    """A shipped model file (or any ``.keras`` path) as ``(model, metadata)``, loaded once and kept.

    Args:
        name: the name of a file in ``musicstyle/pretrained/`` (that file, even if the working folder
            has one of the same name), or a path to a ``.keras`` file.
        kind: the metadata ``kind`` it must hold (``velocity``, ``dynamics``, ...).

    Returns:
        ``(model, metadata)``; the same objects on every call until :func:`clear`.
    """
    path = Path(name)
    bare = path.name == str(name)
    if bare and (_SHIPPED / path.name).is_file() or bare and not path.is_file():
        path = pretrained_path(str(name))  # a shipped file's name means the shipped file
    elif not path.is_file():
        raise MusicstyleError(path, "no such model file")
    key = (str(path.resolve()), kind)
    if key not in _LOADED:
        from . import layers  # noqa: F401  (registers the custom layers before any load)

        _LOADED[key] = load_model(path, kind)
    return _LOADED[key]


def clear() -> None:
    """Forget every loaded model (frees their memory once nothing else holds them)."""
    _LOADED.clear()
