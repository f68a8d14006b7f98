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


def pretrained_path(name: str) -> Path:
    """Path of a model file shipped inside the package (``musicstyle/pretrained/NAME``)."""
    path = Path(str(resources.files("musicstyle").joinpath("pretrained", name)))
    if not path.is_file():
        raise MusicstyleError(path, "pretrained model not shipped with this installation")
    return path


def load_shipped(name: str, kind: str | None = None) -> tuple:
    """A shipped model file (or any ``.keras`` path) as ``(model, metadata)``, loaded once and kept.

    Args:
        name: a file name in ``musicstyle/pretrained/`` or a path to a ``.keras`` file.
        kind: the metadata ``kind`` it must hold (``velocity``, ``dynamics``, ...).

    Returns:
        ``(model, metadata)``; the same objects on every call until :func:`clear`.
    """
    path = Path(name) if Path(name).suffix == ".keras" and Path(name).is_file() else pretrained_path(name)
    key = (str(path.resolve()), kind)
    if key not in _LOADED:
        from . import layers  # noqa: F401  (registers the custom layers before any load)

        _LOADED[key] = load_model(path, kind)
    return _LOADED[key]


def clear() -> None:
    """Forget every loaded model (frees their memory once nothing else holds them)."""
    _LOADED.clear()
